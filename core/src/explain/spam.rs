//! The spam-control lines of `postern explain` for an SMTP or
//! submission instance: which blocklist queries the connection and the
//! sender cause and, given their answers (`--dns`), the verdict; and what
//! the greylist would say of each recipient.

use super::{Question, line};
use crate::address::ReversePath;
use crate::config::ServiceConfig;
use crate::spam::dnsbl::{client_refusal, sender_refusal};
use crate::spam::{
    Greylist, GreylistVerdict, LookupAnswer, Query, SpamPolicy, Triplet, ZoneKind, exempt,
};
use crate::time::UnixTime;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What the runtime found out for the explanation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpamFacts {
    /// The answers to the blocklist queries (`--dns`); `None` to say
    /// which queries would be made instead.
    pub dns: Option<BTreeMap<String, LookupAnswer>>,
    /// The server's greylist as stored, and the time now; `None` when it
    /// was not read (or could not be).
    pub greylist: Option<(Greylist, UnixTime)>,
    /// SPF's verdict on the sender and the client (`--dns`), when the
    /// instance checks senders.
    pub spf: Option<crate::mail_auth::spf::SpfVerdict>,
    /// The allow and block lists of the question's local recipients, by
    /// mailbox (`user@domain`); a mailbox not here has none (or they
    /// could not be read).
    pub sender_lists: BTreeMap<String, crate::spam::SenderLists>,
}

/// Every blocklist query the question would cause on `service`: the
/// client's, and the sender domain's.
pub(super) fn queries(service: &ServiceConfig, question: &Question) -> Vec<Query> {
    let spam = &service.spam;
    if exempt(&service.relay, question.remote, false) {
        return Vec::new();
    }
    let mut queries = spam.blocklists.client_queries(question.remote);
    if let Some(ReversePath::Mailbox(mailbox)) = &question.from {
        queries.extend(spam.blocklists.domain_queries(&mailbox.domain));
    }
    queries
}

/// The connect-time lines; false when the client would be refused.
pub(super) fn client_lines(
    text: &mut String,
    service: &ServiceConfig,
    remote: IpAddr,
    facts: &SpamFacts,
) -> bool {
    let spam = &service.spam;
    // An instance without blocklists gets no line, as before they existed.
    if spam.blocklists.zones.is_empty() {
        return true;
    }
    if exempt(&service.relay, remote, false) {
        line(
            text,
            "blocklists",
            &format!(
                "not checked: {remote} is one of the instance's own networks (relay = {})",
                service.relay
            ),
        );
        return true;
    }
    let queries = spam.blocklists.client_queries(remote);
    if queries.is_empty() {
        line(
            text,
            "blocklists",
            "no IP zone: the client is not looked up",
        );
        return true;
    }
    let what = format!("client {}", remote.to_canonical());
    lookup_lines(text, spam, &queries, &what, facts, |zone| {
        client_refusal(remote, zone)
    })
}

/// The MAIL lines for the sender's domain; false when it would be
/// refused.
pub(super) fn sender_lines(
    text: &mut String,
    service: &ServiceConfig,
    question: &Question,
    facts: &SpamFacts,
) -> bool {
    let spam = &service.spam;
    let has_domain_zones = spam
        .blocklists
        .zones
        .iter()
        .any(|z| z.kind == ZoneKind::Domain);
    let Some(ReversePath::Mailbox(mailbox)) = &question.from else {
        return true;
    };
    if !has_domain_zones || exempt(&service.relay, question.remote, false) {
        return true;
    }
    let queries = spam.blocklists.domain_queries(&mailbox.domain);
    if queries.is_empty() {
        line(
            text,
            "blocklists",
            &format!("sender domain {}: cannot be looked up", mailbox.domain),
        );
        return true;
    }
    let what = format!(
        "sender domain {} (not asked once the client has logged in)",
        mailbox.domain
    );
    lookup_lines(text, spam, &queries, &what, facts, |zone| {
        sender_refusal(&mailbox.domain, zone)
    })
}

fn lookup_lines(
    text: &mut String,
    spam: &SpamPolicy,
    queries: &[Query],
    what: &str,
    facts: &SpamFacts,
    refusal: impl Fn(&str) -> String,
) -> bool {
    let threshold = spam.blocklists.threshold;
    let Some(dns) = &facts.dns else {
        let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
        line(
            text,
            "blocklists",
            &format!(
                "{what}: would query {} (A records; --dns to look them up); refused with 554 5.7.1 when the weights of the listing zones reach {threshold}",
                names.join(" ")
            ),
        );
        return true;
    };
    let answers: Vec<LookupAnswer> = queries
        .iter()
        .map(|q| {
            dns.get(&q.name)
                .cloned()
                .unwrap_or(LookupAnswer::Failed("not looked up".to_owned()))
        })
        .collect();
    for (query, answer) in queries.iter().zip(&answers) {
        let shown = match answer {
            LookupAnswer::Listed(addresses) => {
                let list: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
                format!("answered {}", list.join(" "))
            }
            LookupAnswer::NotListed => "not listed".to_owned(),
            LookupAnswer::Failed(why) => format!("no answer ({why}): counts as not listed"),
        };
        line(text, "blocklists", &format!("{}: {shown}", query.name));
    }
    let verdict = spam.blocklists.verdict(queries, &answers);
    if verdict.refused {
        line(
            text,
            "blocklists",
            &format!(
                "{what}: refused, score {} of {threshold}: 554 5.7.1 {}",
                verdict.score,
                refusal(verdict.first_zone())
            ),
        );
        false
    } else {
        line(
            text,
            "blocklists",
            &format!("{what}: accepted, score {} of {threshold}", verdict.score),
        );
        true
    }
}

/// What the greylist would say to one recipient the instance takes.
pub(super) fn greylist_line(
    text: &mut String,
    service: &ServiceConfig,
    question: &Question,
    forward_path: &crate::address::ForwardPath,
    facts: &SpamFacts,
) {
    let Some(policy) = service.spam.greylist else {
        return;
    };
    if exempt(&service.relay, question.remote, false) {
        line(
            text,
            "greylist",
            &format!(
                "{forward_path}: not checked: {} is one of the instance's own networks",
                question.remote
            ),
        );
        return;
    }
    let from = question.from.clone().unwrap_or(ReversePath::Null);
    let triplet = Triplet::new(question.remote, &from, forward_path);
    let fact = match &facts.greylist {
        None => format!(
            "{triplet}: a first try gets 451 4.7.1, a retry after {}s passes (the stored greylist was not consulted)",
            policy.delay.as_secs()
        ),
        Some((greylist, now)) => match greylist.peek(*now, &triplet, &policy) {
            GreylistVerdict::Pass => format!("{triplet}: passes (remembered)"),
            GreylistVerdict::Defer { retry_in } => format!(
                "{triplet}: 451 4.7.1 {} ({})",
                GreylistVerdict::reply_text(retry_in),
                if greylist.entry(&triplet).is_some() {
                    "seen, waiting out the delay"
                } else {
                    "not seen yet"
                }
            ),
        },
    };
    line(text, "greylist", &fact);
}

#[cfg(test)]
mod tests;
