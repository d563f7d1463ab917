//! Drives the core's SPF check ([`SpfCheck`]) to its verdict: each lookup
//! it asks for goes to an [`SpfLookups`] (the real resolver here, the
//! simulation's zone there), under one deadline for the whole check.

use crate::resolver::{Family, Resolver};
use postern_core::limits::SPF_CHECK_TIMEOUT;
use postern_core::mail_auth::spf::{
    DnsAnswer, DnsQuery, Identity, SpfCheck, SpfRequest, SpfStep, SpfVerdict,
};
use std::future::Future;
use std::time::Duration;

/// Answers the lookups of an SPF check.
pub trait SpfLookups {
    fn lookup(&self, query: &DnsQuery) -> impl Future<Output = DnsAnswer> + Send;
}

impl SpfLookups for Resolver {
    async fn lookup(&self, query: &DnsQuery) -> DnsAnswer {
        match query {
            DnsQuery::Txt(name) => self.txt(name).await,
            DnsQuery::A(name) => self.addresses(name, Family::V4).await,
            DnsQuery::Aaaa(name) => self.addresses(name, Family::V6).await,
            DnsQuery::Mx(name) => self.mx_names(name).await,
            DnsQuery::Ptr(ip) => self.ptr(*ip).await,
        }
    }
}

/// The SPF verdict for `identity`, within [`SPF_CHECK_TIMEOUT`] (RFC 7208
/// 4.6.4); a check that takes longer is a `temperror`.
pub async fn check_spf(
    lookups: &impl SpfLookups,
    request: SpfRequest,
    identity: Identity,
) -> SpfVerdict {
    check_spf_within(lookups, request, identity, SPF_CHECK_TIMEOUT).await
}

/// [`check_spf`] with its deadline given.
pub async fn check_spf_within(
    lookups: &impl SpfLookups,
    request: SpfRequest,
    identity: Identity,
    deadline: Duration,
) -> SpfVerdict {
    let mut check = SpfCheck::new(request, identity);
    match tokio::time::timeout(deadline, drive(&mut check, lookups)).await {
        Ok(verdict) => verdict,
        Err(_) => check.abandon(format!(
            "the check took longer than {}s",
            deadline.as_secs_f64()
        )),
    }
}

async fn drive(check: &mut SpfCheck, lookups: &impl SpfLookups) -> SpfVerdict {
    loop {
        match check.step() {
            SpfStep::Lookup(query) => {
                let answer = lookups.lookup(&query).await;
                tracing::debug!(?query, ?answer, "spf lookup");
                check.answer(answer);
            }
            SpfStep::Done(verdict) => return verdict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_core::mail_auth::spf::{DnsRecord, SpfResult};
    use postern_core::time::UnixTime;

    /// Answers the first record at once and never answers anything else.
    struct Stalls;

    impl SpfLookups for Stalls {
        async fn lookup(&self, query: &DnsQuery) -> DnsAnswer {
            if let DnsQuery::Txt(_) = query {
                let record = "v=spf1 a:slow.example -all".to_owned();
                return DnsAnswer::Records(vec![DnsRecord::Txt(record)]);
            }
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_check_past_its_deadline_is_a_temperror() {
        let request = SpfRequest {
            ip: "192.0.2.1".parse().unwrap(),
            sender: "alice@example.test".into(),
            helo: "mail.example.test".into(),
            receiver: "mx.postern.test".into(),
            now: UnixTime(0),
        };
        let deadline = Duration::from_millis(50);
        let verdict = check_spf_within(&Stalls, request, Identity::MailFrom, deadline).await;
        assert_eq!(verdict.result, SpfResult::TempError);
        assert_eq!(verdict.domain, "example.test");
        assert!(verdict.problem.unwrap().contains("longer than"));
    }
}
