//! DNS through hickory-resolver: MX records and host addresses for
//! outbound delivery, answered in the core's terms ([`MxAnswer`],
//! [`HostAnswer`]), and the TXT, A/AAAA and PTR lookups of mail
//! authentication ([`DnsAnswer`]), so the core decides what each answer
//! means.

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};
use postern_core::limits::SPF_LOOKUP_TIMEOUT;
use postern_core::mail_auth::spf::{DnsAnswer, DnsRecord};
use postern_core::route::{HostAnswer, MxAnswer};
use postern_core::spam::LookupAnswer;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Which address records [`Resolver::addresses`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// A records.
    V4,
    /// AAAA records.
    V6,
}

/// Asks DNS servers about mail exchangers, hosts and the records of
/// mail authentication.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl Resolver {
    /// Uses `nameservers` (UDP, then TCP), or the system's configuration
    /// (/etc/resolv.conf) when the list is empty.
    pub fn new(nameservers: &[SocketAddr]) -> Result<Self, String> {
        let mut builder = if nameservers.is_empty() {
            TokioResolver::builder_tokio().unwrap_or_else(|error| {
                // Local mail still flows; remote mail waits in the queue.
                tracing::warn!(%error, "cannot read the system's DNS configuration; remote deliveries will be deferred until [outbound] nameservers is set");
                TokioResolver::builder_with_config(
                    ResolverConfig::new(),
                    TokioConnectionProvider::default(),
                )
            })
        } else {
            let mut config = ResolverConfig::new();
            for &address in nameservers {
                config.add_name_server(NameServerConfig::new(address, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(address, Protocol::Tcp));
            }
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.timeout = Duration::from_secs(5);
        options.attempts = 2;
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        Ok(Resolver {
            inner: builder.build(),
        })
    }

    /// The domain's MX records.
    pub async fn mx(&self, domain: &str) -> MxAnswer {
        match self.inner.mx_lookup(fully_qualified(domain)).await {
            Ok(lookup) => MxAnswer::Records(
                lookup
                    .iter()
                    .map(|mx| (mx.preference(), mx.exchange().to_ascii()))
                    .collect(),
            ),
            Err(error) if error.is_nx_domain() => MxAnswer::NoSuchDomain,
            Err(error) if error.is_no_records_found() => MxAnswer::NoRecords,
            Err(error) => MxAnswer::TemporaryFailure(describe(&error)),
        }
    }

    /// The host's IPv4 and IPv6 addresses.
    pub async fn host(&self, host: &str) -> HostAnswer {
        match self.inner.lookup_ip(fully_qualified(host)).await {
            Ok(lookup) => HostAnswer::Addresses(lookup.iter().collect()),
            Err(error) if error.is_nx_domain() || error.is_no_records_found() => {
                HostAnswer::NotFound
            }
            Err(error) => HostAnswer::TemporaryFailure(describe(&error)),
        }
    }

    /// The name's TXT records, each one's strings joined without spaces
    /// (RFC 7208 3.3); text that is not UTF-8 is kept lossily, so a
    /// record with stray octets still reads as "not ASCII".
    pub async fn txt(&self, name: &str) -> DnsAnswer {
        let lookup = self.inner.txt_lookup(fully_qualified(name));
        answer(lookup, |lookup| {
            lookup
                .iter()
                .map(|txt| {
                    let bytes: Vec<u8> = txt.iter().flat_map(|part| part.iter().copied()).collect();
                    DnsRecord::Txt(String::from_utf8_lossy(&bytes).into_owned())
                })
                .collect()
        })
        .await
    }

    /// The name's A or AAAA records.
    pub async fn addresses(&self, name: &str, family: Family) -> DnsAnswer {
        let name = fully_qualified(name);
        match family {
            Family::V4 => {
                answer(self.inner.ipv4_lookup(name), |lookup| {
                    lookup
                        .iter()
                        .map(|a| DnsRecord::Address(IpAddr::V4(a.0)))
                        .collect()
                })
                .await
            }
            Family::V6 => {
                answer(self.inner.ipv6_lookup(name), |lookup| {
                    lookup
                        .iter()
                        .map(|aaaa| DnsRecord::Address(IpAddr::V6(aaaa.0)))
                        .collect()
                })
                .await
            }
        }
    }

    /// The names the address's PTR records give.
    pub async fn ptr(&self, ip: IpAddr) -> DnsAnswer {
        answer(self.inner.reverse_lookup(ip), |lookup| {
            lookup
                .iter()
                .map(|ptr| DnsRecord::Name(ptr.0.to_ascii()))
                .collect()
        })
        .await
    }

    /// The domain's MX exchanges, as names (SPF has no use for the
    /// preferences).
    pub async fn mx_names(&self, domain: &str) -> DnsAnswer {
        answer(self.inner.mx_lookup(fully_qualified(domain)), |lookup| {
            lookup
                .iter()
                .map(|mx| DnsRecord::Name(mx.exchange().to_ascii()))
                .collect()
        })
        .await
    }
}

/// Waits at most [`SPF_LOOKUP_TIMEOUT`] for a lookup and says what it
/// found: no such name and no records are both "not found" (a void
/// lookup to SPF), anything else that went wrong is a failure.
async fn answer<L>(
    lookup: impl Future<Output = Result<L, ResolveError>>,
    records: impl FnOnce(&L) -> Vec<DnsRecord>,
) -> DnsAnswer {
    match tokio::time::timeout(SPF_LOOKUP_TIMEOUT, lookup).await {
        Err(_) => DnsAnswer::Failed(format!(
            "no answer within {}s",
            SPF_LOOKUP_TIMEOUT.as_secs()
        )),
        Ok(Ok(lookup)) => match records(&lookup) {
            found if found.is_empty() => DnsAnswer::NotFound,
            found => DnsAnswer::Records(found),
        },
        Ok(Err(error)) if error.is_nx_domain() || error.is_no_records_found() => {
            DnsAnswer::NotFound
        }
        Ok(Err(error)) => DnsAnswer::Failed(describe(&error)),
    }
}

impl Resolver {
    /// A DNS blocklist query (RFC 5782): the A records of `name`, or
    /// that there are none, or why there is no answer; within
    /// [`DNSBL_LOOKUP_TIMEOUT`](postern_core::limits::DNSBL_LOOKUP_TIMEOUT).
    pub async fn blocklist(&self, name: &str) -> LookupAnswer {
        let lookup = self.inner.ipv4_lookup(fully_qualified(name));
        match tokio::time::timeout(postern_core::limits::DNSBL_LOOKUP_TIMEOUT, lookup).await {
            Ok(Ok(lookup)) => {
                LookupAnswer::Listed(lookup.iter().map(|a| std::net::IpAddr::V4(a.0)).collect())
            }
            Ok(Err(error)) if error.is_nx_domain() || error.is_no_records_found() => {
                LookupAnswer::NotListed
            }
            Ok(Err(error)) => LookupAnswer::Failed(describe(&error)),
            Err(_) => LookupAnswer::Failed(format!(
                "no answer within {}s",
                postern_core::limits::DNSBL_LOOKUP_TIMEOUT.as_secs()
            )),
        }
    }

    /// Every query at once; the answers in the queries' order.
    pub async fn blocklists(&self, names: Vec<String>) -> Vec<LookupAnswer> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, name) in names.iter().enumerate() {
            let (resolver, name) = (self.clone(), name.clone());
            tasks.spawn(async move { (index, resolver.blocklist(&name).await) });
        }
        let mut answers =
            vec![LookupAnswer::Failed("the lookup did not finish".to_owned()); names.len()];
        while let Some(done) = tasks.join_next().await {
            if let Ok((index, answer)) = done {
                answers[index] = answer;
            }
        }
        answers
    }
}

/// Names from envelopes are absolute: no search-domain guessing.
fn fully_qualified(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

fn describe(error: &ResolveError) -> String {
    error.to_string()
}
