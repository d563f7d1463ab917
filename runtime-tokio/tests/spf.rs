//! SPF through the real resolver: dnsmasq on loopback serves the TXT,
//! A, MX and PTR records, hickory-resolver asks it, and the core's check
//! decides ([`postern::mail_auth::spf::check_spf`]).

mod support;

use postern::mail_auth::spf::check_spf;
use postern::resolver::Resolver;
use postern_core::mail_auth::spf::{Identity, SpfRequest, SpfResult, SpfVerdict};
use postern_core::time::UnixTime;
use support::outbound::Dns;

/// The zone every test asks: one domain per behaviour.
const RECORDS: &[&str] = &[
    "--txt-record=pass.test,v=spf1 ip4:127.0.0.1 -all",
    "--txt-record=softfail.test,v=spf1 ip4:127.0.0.1 ~all",
    "--txt-record=include.test,v=spf1 include:pass.test -all",
    "--txt-record=redirect.test,v=spf1 redirect=pass.test",
    "--txt-record=mx.test,v=spf1 mx -all",
    "--mx-host=mx.test,mail.mx.test,10",
    "--host-record=mail.mx.test,127.0.0.3",
    "--txt-record=a.test,v=spf1 a:host.a.test/31 -all",
    "--host-record=host.a.test,127.0.0.4",
    "--txt-record=voids.test,v=spf1 a:n1.voids.test a:n2.voids.test a:n3.voids.test ip4:127.0.0.1",
    // Two strings in one record: SPF joins them without a space.
    "--txt-record=split.test,v=spf1 ip4:127.0.0,.1 -all",
    "--txt-record=exp.test,v=spf1 -all exp=why.exp.test",
    "--txt-record=why.exp.test,%{i} may not send for %{d}",
    "--txt-record=ptr.test,v=spf1 ptr -all",
    // hickory answers the PTR of loopback addresses itself (RFC 6761),
    // so the PTR test's client is a documentation address: it is only
    // data in the check, never a socket.
    "--ptr-record=6.2.0.192.in-addr.arpa,gateway.ptr.test",
    "--host-record=gateway.ptr.test,192.0.2.6",
    "--txt-record=mail.helo.test,v=spf1 ip4:127.0.0.7 -all",
];

/// Checks `sender` from `ip` against dnsmasq serving [`RECORDS`].
async fn check(dns: &Dns, ip: &str, sender: &str) -> SpfVerdict {
    let resolver = Resolver::new(&[format!("127.0.0.1:{}", dns.port).parse().unwrap()]).unwrap();
    let request = SpfRequest {
        ip: ip.parse().unwrap(),
        sender: sender.to_owned(),
        helo: "mail.helo.test".to_owned(),
        receiver: "mx.postern.test".to_owned(),
        now: UnixTime(0),
    };
    check_spf(&resolver, request, Identity::MailFrom).await
}

async fn result(dns: &Dns, ip: &str, sender: &str) -> SpfResult {
    check(dns, ip, sender).await.result
}

#[tokio::test]
async fn ip4_passes_its_address_and_fails_the_rest() {
    let dns = Dns::start(RECORDS);
    let pass = check(&dns, "127.0.0.1", "alice@pass.test").await;
    assert_eq!(
        (pass.result, pass.domain.as_str()),
        (SpfResult::Pass, "pass.test")
    );
    assert_eq!(pass.mechanism.as_deref(), Some("ip4:127.0.0.1"));
    assert_eq!(
        result(&dns, "127.0.0.2", "alice@pass.test").await,
        SpfResult::Fail
    );
    assert_eq!(
        result(&dns, "127.0.0.2", "alice@softfail.test").await,
        SpfResult::SoftFail
    );
    assert_eq!(
        result(&dns, "127.0.0.1", "alice@split.test").await,
        SpfResult::Pass
    );
}

#[tokio::test]
async fn include_and_redirect_follow_the_other_record() {
    let dns = Dns::start(RECORDS);
    assert_eq!(
        result(&dns, "127.0.0.1", "bob@include.test").await,
        SpfResult::Pass
    );
    assert_eq!(
        result(&dns, "127.0.0.2", "bob@include.test").await,
        SpfResult::Fail
    );
    assert_eq!(
        result(&dns, "127.0.0.1", "bob@redirect.test").await,
        SpfResult::Pass
    );
    assert_eq!(
        result(&dns, "127.0.0.2", "bob@redirect.test").await,
        SpfResult::Fail
    );
}

#[tokio::test]
async fn mx_a_and_ptr_look_up_hosts() {
    let dns = Dns::start(RECORDS);
    assert_eq!(
        result(&dns, "127.0.0.3", "carol@mx.test").await,
        SpfResult::Pass
    );
    assert_eq!(
        result(&dns, "127.0.0.1", "carol@mx.test").await,
        SpfResult::Fail
    );
    // a:host.a.test/31 covers 127.0.0.4 and 127.0.0.5, not .6.
    assert_eq!(
        result(&dns, "127.0.0.5", "carol@a.test").await,
        SpfResult::Pass
    );
    assert_eq!(
        result(&dns, "127.0.0.6", "carol@a.test").await,
        SpfResult::Fail
    );
    assert_eq!(
        result(&dns, "192.0.2.6", "carol@ptr.test").await,
        SpfResult::Pass
    );
    assert_eq!(
        result(&dns, "192.0.2.7", "carol@ptr.test").await,
        SpfResult::Fail
    );
}

#[tokio::test]
async fn a_third_void_lookup_is_a_permerror() {
    let dns = Dns::start(RECORDS);
    let verdict = check(&dns, "127.0.0.1", "dave@voids.test").await;
    assert_eq!(verdict.result, SpfResult::PermError, "{verdict:?}");
    assert!(verdict.problem.unwrap().contains("found nothing"));
}

#[tokio::test]
async fn a_domain_that_does_not_exist_has_no_policy() {
    let dns = Dns::start(RECORDS);
    let verdict = check(&dns, "127.0.0.1", "erin@nowhere.test").await;
    assert_eq!((verdict.result, verdict.problem), (SpfResult::None, None));
}

#[tokio::test]
async fn a_fail_carries_the_domains_explanation() {
    let dns = Dns::start(RECORDS);
    let verdict = check(&dns, "127.0.0.9", "frank@exp.test").await;
    assert_eq!(verdict.result, SpfResult::Fail);
    assert_eq!(
        verdict.explanation.as_deref(),
        Some("127.0.0.9 may not send for exp.test")
    );
}

#[tokio::test]
async fn an_empty_mail_from_checks_the_helo() {
    let dns = Dns::start(RECORDS);
    let verdict = check(&dns, "127.0.0.7", "").await;
    assert_eq!(
        (verdict.result, verdict.domain.as_str()),
        (SpfResult::Pass, "mail.helo.test")
    );
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_a_temperror() {
    // A port with nothing behind it: every query goes unanswered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let resolver = Resolver::new(&[format!("127.0.0.1:{port}").parse().unwrap()]).unwrap();
    let request = SpfRequest {
        ip: "127.0.0.1".parse().unwrap(),
        sender: "gina@pass.test".to_owned(),
        helo: "mail.helo.test".to_owned(),
        receiver: "mx.postern.test".to_owned(),
        now: UnixTime(0),
    };
    let verdict = check_spf(&resolver, request, Identity::MailFrom).await;
    assert_eq!(verdict.result, SpfResult::TempError, "{verdict:?}");
}
