use super::*;
use crate::address::Mailbox;
use crate::mail_auth::dmarc::{DmarcFinding, DmarcResult};
use crate::mail_auth::results::authentication_results;
use std::path::PathBuf;

fn key(domain: &str, selector: &str) -> DkimKeyConfig {
    DkimKeyConfig {
        domain: domain.into(),
        selector: selector.into(),
        key: PathBuf::from("k.pem"),
        headers: vec!["From".into()],
        line: 0,
    }
}

fn sender(address: &str) -> ReversePath {
    let (local_part, domain) = address.split_once('@').unwrap();
    ReversePath::Mailbox(Mailbox {
        local_part: local_part.into(),
        domain: domain.into(),
    })
}

const OURS: &str =
    "Authentication-Results: mx.fwd.test;\r\n\tarc=none;\r\n\tdkim=pass header.d=origin.test\r\n";

#[test]
fn which_messages_are_sealed_as_which_instance_and_for_whom() {
    let keys = [
        key("fwd.test", "arc1"),
        key("fwd.test", "arc2"),
        key("lists.fwd.test", "l1"),
    ];
    let outside = sender("alice@origin.test");
    let relayed = sender("a@fwd.test");
    let list = sender("news-bounces@lists.fwd.test");
    let pass_chain = "Delivered-To: bob@fwd.test\r\nAuthentication-Results: mx.fwd.test; arc=pass (i=2 sealed by x.test); dkim=pass\r\nARC-Seal: i=1; a=rsa-sha256; cv=none; d=a.test; s=s; b=AA\r\nARC-Seal: i=2; a=rsa-sha256; cv=pass; d=x.test; s=s; b=AA\r\nFrom: a@origin.test\r\n";
    let failed_chain = pass_chain.replace(
        "arc=pass (i=2 sealed by x.test)",
        "arc=fail (signature failed)",
    );
    let dead_chain =
        failed_chain.replace("i=2; a=rsa-sha256; cv=pass", "i=2; a=rsa-sha256; cv=fail");
    type Expected<'a> = Option<(u32, ChainValidation, &'a str, &'a str)>;
    let cases: Vec<(String, &ReversePath, bool, Expected)> = vec![
        // A forwarded copy of mail we checked: i=1, cv=none, the
        // forwarding mailbox's domain and its first key.
        (
            format!("Delivered-To: bob@Fwd.test\r\n{OURS}From: a@origin.test\r\n"),
            &outside,
            false,
            Some((1, ChainValidation::None, "fwd.test", "arc1")),
        ),
        // A list post (made here): the list's domain, from the sender.
        (
            format!("List-Id: <news.lists.fwd.test>\r\n{OURS}From: a@origin.test\r\n"),
            &list,
            true,
            Some((1, ChainValidation::None, "lists.fwd.test", "l1")),
        ),
        // A forward of a passing chain extends it.
        (pass_chain.to_owned(), &outside, false, Some((3, ChainValidation::Pass, "fwd.test", "arc1"))),
        // A failed chain is marked failed once, then left alone.
        (failed_chain.clone(), &outside, false, Some((3, ChainValidation::Fail, "fwd.test", "arc1"))),
        (dead_chain, &outside, false, None),
        // No A-R of ours (mail_auth off, or another host's): nothing.
        (
            "Delivered-To: bob@fwd.test\r\nAuthentication-Results: mx.other.test; arc=none\r\nFrom: a@origin.test\r\n".into(),
            &outside,
            false,
            None,
        ),
        ("Delivered-To: bob@fwd.test\r\nFrom: a@origin.test\r\n".into(), &outside, false, None),
        // Relayed, not forwarded: the sender's domain is not ours to seal
        // for, even when it claims one of ours.
        (format!("{OURS}From: a@fwd.test\r\n"), &relayed, false, None),
        // No key for the forwarding domain.
        (
            format!("Delivered-To: bob@elsewhere.test\r\n{OURS}"),
            &outside,
            false,
            None,
        ),
        // Our A-R says none but the message has seals: it changed; no seal.
        (
            format!("Delivered-To: bob@fwd.test\r\n{OURS}ARC-Seal: i=1; cv=none; b=AA\r\n"),
            &outside,
            false,
            None,
        ),
    ];
    for (headers, reverse_path, submitted, expected) in &cases {
        let plan = seal_plan(
            headers.as_bytes(),
            "mx.fwd.test",
            reverse_path,
            *submitted,
            &keys,
        );
        let got = plan
            .as_ref()
            .map(|p| (p.instance, p.cv, p.domain.as_str(), p.selector.as_str()));
        assert_eq!(got, *expected, "{headers}");
    }
    // The chain at its limit is not extended.
    let long = pass_chain.replace("i=2; a=rsa-sha256; cv=pass", "i=50; a=rsa-sha256; cv=pass");
    assert_eq!(
        seal_plan(long.as_bytes(), "mx.fwd.test", &outside, false, &keys),
        None
    );
    // The A-R is copied as we wrote it, folded.
    let plan = seal_plan(
        format!("Delivered-To: bob@fwd.test\r\n{OURS}").as_bytes(),
        "mx.fwd.test",
        &outside,
        false,
        &keys,
    )
    .unwrap();
    assert_eq!(
        plan.results_field(),
        "ARC-Authentication-Results: i=1; mx.fwd.test;\r\n\tarc=none;\r\n\tdkim=pass header.d=origin.test\r\n"
    );
}

#[test]
fn the_fields_are_folded_and_their_signed_forms_end_at_b() {
    let plan = SealPlan {
        instance: 2,
        cv: ChainValidation::Pass,
        domain: "fwd.test".into(),
        selector: "arc1".into(),
        results: "mx.fwd.test; arc=pass".into(),
    };
    let h = vec!["From".to_owned(), "Subject".to_owned()];
    assert_eq!(
        plan.message_signature_field(&h, 1_700_000_000, "BH=", ""),
        "ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed;\r\n\td=fwd.test; s=arc1; t=1700000000;\r\n\th=From:Subject;\r\n\tbh=BH=;\r\n\tb="
    );
    let b = "A".repeat(100);
    let signed = plan.seal_field(1_700_000_000, &b);
    assert_eq!(
        signed,
        format!(
            "ARC-Seal: i=2; a=rsa-sha256; cv=pass;\r\n\td=fwd.test; s=arc1; t=1700000000;\r\n\tb={}\r\n\t {}\r\n",
            &b[..72],
            &b[72..]
        )
    );
    assert!(plan.seal_field(1, "").ends_with("t=1;\r\n\tb="));
}

#[test]
fn the_message_signature_covers_the_bottom_most_fields_and_never_arc_or_results() {
    let names = ["Received", "From", "Subject", "To", "Subject"];
    let wanted: Vec<String> = [
        "From",
        "From",
        "Subject",
        "Subject",
        "Subject",
        "ARC-Seal",
        "Authentication-Results",
        "Date",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (h, chosen) = signed_fields(&names, &wanted);
    assert_eq!(h, ["From", "From", "Subject", "Subject", "Subject", "Date"]);
    assert_eq!(chosen, [Some(1), None, Some(4), Some(2), None, None]);
}

fn dmarc_fail(disposition: Policy) -> DmarcFinding {
    DmarcFinding {
        result: DmarcResult::Fail,
        from_domain: "origin.test".into(),
        policy: Some(Policy::Reject),
        disposition,
        reason: None,
        overridden_by: None,
    }
}

fn arc(result: ArcResult, sealer: &str) -> ArcFinding {
    ArcFinding {
        result,
        instances: 1,
        sealer: Some(sealer.into()),
        reason: None,
    }
}

#[test]
fn a_passing_chain_from_a_trusted_sealer_overrides_a_dmarc_failure_and_says_so() {
    let trusted = vec!["fwd.test".to_owned()];
    let cases = [
        (
            arc(ArcResult::Pass, "Fwd.TEST"),
            Policy::Reject,
            Policy::None,
            true,
        ),
        (
            arc(ArcResult::Pass, "fwd.test"),
            Policy::Quarantine,
            Policy::None,
            true,
        ),
        (
            arc(ArcResult::Pass, "other.test"),
            Policy::Reject,
            Policy::Reject,
            false,
        ),
        (
            arc(ArcResult::Fail, "fwd.test"),
            Policy::Reject,
            Policy::Reject,
            false,
        ),
    ];
    for (arc_finding, asked, disposition, overridden) in cases {
        let mut findings = Findings {
            arc: Some(arc_finding.clone()),
            dmarc: Some(dmarc_fail(asked)),
            ..Findings::default()
        };
        apply_trusted_sealers(&mut findings, &trusted);
        let dmarc = findings.dmarc.as_ref().unwrap();
        assert_eq!(dmarc.disposition, disposition, "{arc_finding:?}");
        assert_eq!(dmarc.overridden_by.is_some(), overridden, "{arc_finding:?}");
        assert_eq!(dmarc.result, DmarcResult::Fail, "the result stays");
    }
    let mut findings = Findings {
        arc: Some(arc(ArcResult::Pass, "fwd.test")),
        dmarc: Some(dmarc_fail(Policy::Reject)),
        ..Findings::default()
    };
    apply_trusted_sealers(&mut findings, &trusted);
    assert_eq!(
        authentication_results("mx.dest.test", &findings),
        "Authentication-Results: mx.dest.test;\r\n\
         \tarc=pass (i=1 sealed by fwd.test);\r\n\
         \tdmarc=fail (p=reject dis=none, overridden by ARC: trusted sealer fwd.test) header.from=origin.test\r\n"
    );
}
