//! What the checks of a received message found, and the
//! `Authentication-Results:` field (RFC 8601) that records it on top of
//! the message, under our host name as the authserv-id.

use crate::limits::TRACE_BYTES_MAX;
use crate::mail_auth::arc::ArcFinding;
use crate::mail_auth::dmarc::DmarcFinding;
use crate::mail_auth::spf::SpfVerdict;
use crate::text::escape_controls;

/// The checks the runtime ran on one received message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// SPF for the MAIL FROM identity (the HELO's when MAIL FROM is
    /// `<>`), and what that identity was: `smtp.mailfrom` or
    /// `smtp.helo`, and its value.
    pub spf: Option<(SpfVerdict, SpfIdentity)>,
    /// One per `DKIM-Signature:` field, top down; empty when the message
    /// has none (`dkim=none`), `None` when DKIM was not checked.
    pub dkim: Option<Vec<DkimFinding>>,
    /// DMARC for the `From:` domain; `None` when not checked (or the
    /// message has no single author domain).
    pub dmarc: Option<DmarcFinding>,
    /// The ARC chain (RFC 8617); `None` when not checked.
    pub arc: Option<ArcFinding>,
}

/// The identity SPF checked, as RFC 8601 2.7.2 names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpfIdentity {
    /// `smtp.mailfrom`: the MAIL FROM address.
    MailFrom(String),
    /// `smtp.helo`: the HELO domain (MAIL FROM was `<>`).
    Helo(String),
}

/// One DKIM signature's result (RFC 6376 6.1, RFC 8601 2.7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimFinding {
    pub result: DkimResult,
    /// `d=`, the signing domain; empty when the field did not parse.
    pub domain: String,
    /// `s=`, the selector.
    pub selector: String,
    /// The first eight characters of `b=`, which tell two signatures of
    /// one domain apart (RFC 6008).
    pub signature_start: String,
    /// Why it did not pass, for the reader.
    pub reason: Option<String>,
}

/// The DKIM results of RFC 8601 2.7.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkimResult {
    Pass,
    Fail,
    Neutral,
    Policy,
    TempError,
    PermError,
}

impl DkimResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Neutral => "neutral",
            DkimResult::Policy => "policy",
            DkimResult::TempError => "temperror",
            DkimResult::PermError => "permerror",
        }
    }
}

impl Findings {
    /// Nothing was checked: no field is written.
    pub fn is_empty(&self) -> bool {
        self.spf.is_none() && self.dkim.is_none() && self.dmarc.is_none() && self.arc.is_none()
    }
}

/// The `Authentication-Results:` field for `findings`, folded, CRLF
/// ended, at most [`TRACE_BYTES_MAX`] octets (signatures beyond what fits
/// are left out, and a comment says how many); empty when nothing was
/// checked. Text from outside (domains, selectors, reasons) is made
/// printable and stripped of what would end a property or a comment.
pub fn authentication_results(authserv_id: &str, findings: &Findings) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let mut results: Vec<String> = Vec::new();
    // First, so that no flood of signatures can cut it: sealing a
    // forwarded copy reads its `cv=` from here.
    if let Some(arc) = &findings.arc {
        let mut result = format!("arc={}", arc.result.as_str());
        match (&arc.reason, &arc.sealer) {
            (Some(reason), _) => result.push_str(&format!(" ({})", comment(reason))),
            (None, Some(sealer)) => result.push_str(&format!(
                " (i={} sealed by {})",
                arc.instances,
                comment(sealer)
            )),
            (None, None) => {}
        }
        results.push(result);
    }
    if let Some(dkim) = &findings.dkim {
        if dkim.is_empty() {
            results.push("dkim=none".to_owned());
        }
        for finding in dkim {
            let mut result = format!("dkim={}", finding.result.as_str());
            if let Some(reason) = &finding.reason {
                result.push_str(&format!(" ({})", comment(reason)));
            }
            if !finding.domain.is_empty() {
                result.push_str(&format!(" header.d={}", value(&finding.domain)));
            }
            if !finding.selector.is_empty() {
                result.push_str(&format!(" header.s={}", value(&finding.selector)));
            }
            if !finding.signature_start.is_empty() {
                result.push_str(&format!(" header.b={}", value(&finding.signature_start)));
            }
            results.push(result);
        }
    }
    if let Some((verdict, identity)) = &findings.spf {
        let mut result = format!("spf={}", verdict.result.as_str());
        let why = verdict.problem.as_ref().or(verdict.mechanism.as_ref());
        if let Some(why) = why {
            result.push_str(&format!(" ({})", comment(why)));
        }
        match identity {
            SpfIdentity::MailFrom(address) => {
                result.push_str(&format!(" smtp.mailfrom={}", value(address)))
            }
            SpfIdentity::Helo(helo) => result.push_str(&format!(" smtp.helo={}", value(helo))),
        }
        results.push(result);
    }
    if let Some(dmarc) = &findings.dmarc {
        let mut result = format!("dmarc={}", dmarc.result.as_str());
        if let Some(policy) = dmarc.policy {
            result.push_str(&format!(
                " (p={} dis={}",
                policy.as_str(),
                dmarc.disposition.as_str()
            ));
            // No registered property says it (RFC 8601 2.7, RFC 7489
            // 6.7's override reasons live in reports): a comment.
            if let Some(sealer) = &dmarc.overridden_by {
                result.push_str(&format!(
                    ", overridden by ARC: trusted sealer {}",
                    comment(sealer)
                ));
            }
            result.push(')');
        }
        result.push_str(&format!(" header.from={}", value(&dmarc.from_domain)));
        results.push(result);
    }
    let head = format!("Authentication-Results: {}", value(authserv_id));
    let mut field = head.clone();
    let mut left_out = 0;
    for (i, result) in results.iter().enumerate() {
        let next = format!(";\r\n\t{result}");
        // Room for this, the end, and a comment on what did not fit.
        if field.len() + next.len() + 64 > TRACE_BYTES_MAX {
            left_out = results.len() - i;
            break;
        }
        field.push_str(&next);
    }
    if left_out > 0 {
        field.push_str(&format!("\r\n\t({left_out} more results left out)"));
    }
    field.push_str("\r\n");
    field
}

/// A property value: a token or a domain, as it came, without what
/// would end it (space, `;`, parentheses, quotes) or break the line.
fn value(text: &str) -> String {
    let text: String = escape_controls(text)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ';' | '(' | ')' | '"' | '\\'))
        .take(255)
        .collect();
    if text.is_empty() {
        "unknown".into()
    } else {
        text
    }
}

/// A comment's text, without what would end the comment or the line.
fn comment(text: &str) -> String {
    escape_controls(text)
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | '\\'))
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail_auth::spf::SpfResult;

    fn spf(result: SpfResult, mechanism: Option<&str>) -> SpfVerdict {
        SpfVerdict {
            result,
            domain: "origin.test".into(),
            mechanism: mechanism.map(str::to_owned),
            explanation: None,
            problem: None,
        }
    }

    fn dkim(result: DkimResult, domain: &str, reason: Option<&str>) -> DkimFinding {
        DkimFinding {
            result,
            domain: domain.into(),
            selector: "s1".into(),
            signature_start: "AbCdEfGh".into(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn the_field_names_each_result_and_its_identity() {
        let findings = Findings {
            arc: None,
            dmarc: None,
            spf: Some((
                spf(SpfResult::Pass, Some("ip4:127.0.0.0/8")),
                SpfIdentity::MailFrom("alice@origin.test".into()),
            )),
            dkim: Some(vec![
                dkim(DkimResult::Pass, "origin.test", None),
                dkim(
                    DkimResult::Fail,
                    "other.test",
                    Some("body hash does not match"),
                ),
            ]),
        };
        assert_eq!(
            authentication_results("mx.example.test", &findings),
            "Authentication-Results: mx.example.test;\r\n\
             \tdkim=pass header.d=origin.test header.s=s1 header.b=AbCdEfGh;\r\n\
             \tdkim=fail (body hash does not match) header.d=other.test header.s=s1 header.b=AbCdEfGh;\r\n\
             \tspf=pass (ip4:127.0.0.0/8) smtp.mailfrom=alice@origin.test\r\n"
        );
    }

    #[test]
    fn no_signature_is_dkim_none_and_a_bounce_checks_the_helo() {
        let findings = Findings {
            arc: None,
            dmarc: None,
            spf: Some((
                spf(SpfResult::None, None),
                SpfIdentity::Helo("client.test".into()),
            )),
            dkim: Some(Vec::new()),
        };
        assert_eq!(
            authentication_results("mx.example.test", &findings),
            "Authentication-Results: mx.example.test;\r\n\tdkim=none;\r\n\tspf=none smtp.helo=client.test\r\n"
        );
        assert_eq!(
            authentication_results("mx.example.test", &Findings::default()),
            ""
        );
    }

    #[test]
    fn text_from_outside_cannot_forge_a_result_or_a_line() {
        let findings = Findings {
            arc: None,
            dmarc: None,
            spf: None,
            dkim: Some(vec![DkimFinding {
                result: DkimResult::PermError,
                domain: "evil.test; dkim=pass".into(),
                selector: "s\r\nX-Injected: yes".into(),
                signature_start: String::new(),
                reason: Some("no key) dkim=pass (".into()),
            }]),
        };
        let field = authentication_results("mx.example.test", &findings);
        // One result: a `;` would start another, a line break a field.
        assert_eq!(field.matches(';').count(), 1, "{field}");
        assert_eq!(field.matches("\r\n").count(), 2, "{field}");
        assert!(field.contains("\tdkim=permerror ("), "{field}");
        assert!(field.contains("(no key dkim=pass )"), "{field}");
    }

    #[test]
    fn a_flood_of_signatures_is_cut_to_the_limit_and_says_so() {
        let findings = Findings {
            arc: None,
            dmarc: None,
            spf: None,
            dkim: Some(
                (0..500)
                    .map(|i| dkim(DkimResult::Fail, &format!("d{i}.test"), Some("no key")))
                    .collect(),
            ),
        };
        let field = authentication_results("mx.example.test", &findings);
        assert!(field.len() <= TRACE_BYTES_MAX, "{}", field.len());
        assert!(field.contains("more results left out)\r\n"), "{field}");
        assert!(field.contains("header.d=d0.test"));
    }
}
