use super::*;

fn zone(name: &str, kind: ZoneKind, weight: u32, codes: &[&str]) -> Zone {
    Zone {
        zone: name.to_owned(),
        kind,
        weight,
        codes: codes.iter().map(|c| c.parse().unwrap()).collect(),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn lists() -> Blocklists {
    Blocklists {
        zones: vec![
            zone("zen.example.test", ZoneKind::Ip, 2, &[]),
            zone(
                "bl.example.test",
                ZoneKind::Ip,
                1,
                &["127.0.0.2", "127.0.0.4"],
            ),
            zone("dbl.example.test", ZoneKind::Domain, 2, &[]),
        ],
        threshold: 2,
    }
}

#[test]
fn query_names_reverse_the_address() {
    let rows = [
        ("192.0.2.7", "7.2.0.192"),
        ("127.0.0.2", "2.0.0.127"),
        // An IPv4 client seen by a dual-stack listener.
        ("::ffff:192.0.2.7", "7.2.0.192"),
        // RFC 5782 2.4's example.
        (
            "2001:db8:1:2:3:4:567:89ab",
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2",
        ),
        (
            "::1",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",
        ),
    ];
    for (address, reversed) in rows {
        assert_eq!(reversed_address(ip(address)), reversed, "{address}");
    }
}

#[test]
fn clients_are_asked_of_ip_zones_and_domains_of_domain_zones() {
    let names =
        |queries: Vec<Query>| -> Vec<String> { queries.into_iter().map(|q| q.name).collect() };
    assert_eq!(
        names(lists().client_queries(ip("192.0.2.7"))),
        ["7.2.0.192.zen.example.test", "7.2.0.192.bl.example.test"]
    );
    let rows: [(&str, &[&str]); 5] = [
        ("Example.COM", &["example.com.dbl.example.test"]),
        ("example.com.", &["example.com.dbl.example.test"]),
        // An internationalized domain is asked as its A-labels.
        (
            "bücher.example",
            &["xn--bcher-kva.example.dbl.example.test"],
        ),
        // An address literal has no domain to ask about.
        ("[192.0.2.1]", &[]),
        // Too long for DNS once the zone is added.
        (&"a.".repeat(124), &[]),
    ];
    for (domain, expected) in rows {
        assert_eq!(names(lists().domain_queries(domain)), expected, "{domain}");
    }
    assert!(
        Blocklists::default()
            .client_queries(ip("192.0.2.7"))
            .is_empty()
    );
}

#[test]
fn codes_decide_what_counts_as_a_listing() {
    let any = zone("z", ZoneKind::Ip, 1, &[]);
    let some = zone("z", ZoneKind::Ip, 1, &["127.0.0.2", "127.0.0.4"]);
    let rows = [
        (&any, "127.0.0.2", true),
        (&any, "127.0.0.11", true),
        (&any, "127.1.2.3", true),
        // Spamhaus's "query refused" and friends.
        (&any, "127.255.255.254", false),
        // Outside 127/8: a wildcard or a hijacked NXDOMAIN.
        (&any, "192.0.2.1", false),
        (&any, "::1", false),
        (&some, "127.0.0.2", true),
        (&some, "127.0.0.4", true),
        (&some, "127.0.0.3", false),
    ];
    for (zone, answer, counts) in rows {
        assert_eq!(zone.counts(ip(answer)), counts, "{:?} {answer}", zone.codes);
    }
}

#[test]
fn weights_add_up_to_the_threshold() {
    let lists = lists();
    let queries = lists.client_queries(ip("192.0.2.7"));
    let listed = |codes: &[&str]| LookupAnswer::Listed(codes.iter().map(|c| ip(c)).collect());
    let rows = [
        // zen (weight 2) alone reaches 2.
        (
            vec![listed(&["127.0.0.2"]), LookupAnswer::NotListed],
            true,
            2,
        ),
        // bl (weight 1) alone does not.
        (
            vec![LookupAnswer::NotListed, listed(&["127.0.0.4"])],
            false,
            1,
        ),
        // bl answered a code that does not count.
        (
            vec![LookupAnswer::NotListed, listed(&["127.0.0.3"])],
            false,
            0,
        ),
        (
            vec![listed(&["127.0.0.10"]), listed(&["127.0.0.2"])],
            true,
            3,
        ),
        // A failed lookup lists nobody.
        (
            vec![
                LookupAnswer::Failed("timed out".into()),
                listed(&["127.0.0.2"]),
            ],
            false,
            1,
        ),
        (
            vec![LookupAnswer::NotListed, LookupAnswer::NotListed],
            false,
            0,
        ),
    ];
    for (answers, refused, score) in rows {
        let verdict = lists.verdict(&queries, &answers);
        assert_eq!(
            (verdict.refused, verdict.score),
            (refused, score),
            "{answers:?}"
        );
    }
}

#[test]
fn failures_and_error_codes_are_reported_not_counted() {
    let lists = lists();
    let queries = lists.client_queries(ip("192.0.2.7"));
    let verdict = lists.verdict(
        &queries,
        &[
            LookupAnswer::Listed(vec![ip("127.255.255.254")]),
            LookupAnswer::Failed("SERVFAIL".into()),
        ],
    );
    assert!(!verdict.refused);
    assert_eq!(
        verdict.failures,
        [
            (
                "zen.example.test".to_owned(),
                "answered 127.255.255.254 (not a listing)".to_owned()
            ),
            ("bl.example.test".to_owned(), "SERVFAIL".to_owned()),
        ]
    );
}

#[test]
fn refusals_name_the_client_and_the_zone() {
    assert_eq!(
        client_refusal(ip("::ffff:127.0.0.2"), "zen.example.test"),
        "Service unavailable; client [127.0.0.2] listed at zen.example.test"
    );
    assert_eq!(
        sender_refusal("spam.test", "dbl.example.test"),
        "Service unavailable; sender domain spam.test listed at dbl.example.test"
    );
}
