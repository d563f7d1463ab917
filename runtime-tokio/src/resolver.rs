//! DNS for outbound delivery, through hickory-resolver: MX records and
//! host addresses, answered in the core's terms ([`MxAnswer`],
//! [`HostAnswer`]) so the core decides what each answer means.

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};
use postern_core::route::{HostAnswer, MxAnswer};
use postern_core::spam::LookupAnswer;
use std::net::SocketAddr;
use std::time::Duration;

/// Asks DNS servers about mail exchangers and hosts.
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
