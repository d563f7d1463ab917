//! The checks of mail from outside (SPF, DKIM): asked for once the data
//! has all arrived, recorded on top of the message, and never asked for
//! mail that the relay networks vouch for.

use super::harness::{Harness, config};
use crate::mail_auth::MailAuthMode;
use crate::mail_auth::dmarc::{DmarcFinding, DmarcResult, Policy};
use crate::mail_auth::results::{DkimFinding, DkimResult, Findings};
use crate::policy::{Network, RelayPolicy};
use crate::smtp::server::SessionConfig;

fn send_one(harness: &mut Harness) {
    harness.send_line("EHLO client.test");
    harness.send_line("MAIL FROM:<bob@remote.test>");
    harness.send_line("RCPT TO:<alice@example.test>");
    harness.send_line("DATA");
    harness.send(b"From: bob@remote.test\r\nSubject: hi\r\n\r\nHello.\r\n.\r\n");
}

#[test]
fn what_the_checks_found_goes_on_top_of_the_message_before_the_commit() {
    let mut harness = Harness::new();
    harness.findings = Findings {
        arc: None,
        dmarc: None,
        spf: None,
        dkim: Some(vec![DkimFinding {
            result: DkimResult::Pass,
            domain: "remote.test".into(),
            selector: "s1".into(),
            signature_start: "AbCdEfGh".into(),
            reason: None,
        }]),
    };
    send_one(&mut harness);
    let transcript = &harness.transcript;
    let checks = transcript.find("   checks").expect(transcript);
    let trace = transcript.find("   trace (").expect(transcript);
    let commit = transcript.find("   commit ").expect(transcript);
    assert!(checks < trace && trace < commit, "{transcript}");
    assert!(
        transcript.contains("S: 250 2.0.0 Ok: queued as"),
        "{transcript}"
    );
    let data = String::from_utf8_lossy(&harness.stored[0].data).into_owned();
    assert!(
        data.starts_with(
            "Authentication-Results: mx.example.test;\r\n\tdkim=pass header.d=remote.test header.s=s1 header.b=AbCdEfGh\r\nReceived: from client.test"
        ),
        "{data}"
    );
}

#[test]
fn mail_from_a_network_we_vouch_for_is_not_checked() {
    let mut harness = Harness::with_config(SessionConfig {
        relay: RelayPolicy::Networks(vec!["192.0.2.0/24".parse::<Network>().unwrap()]),
        ..config()
    });
    harness.findings.dkim = Some(Vec::new());
    send_one(&mut harness);
    assert!(
        !harness.transcript.contains("   checks"),
        "{}",
        harness.transcript
    );
    let data = String::from_utf8_lossy(&harness.stored[0].data).into_owned();
    assert!(data.starts_with("Received: "), "{data}");
}

fn dmarc_failure(policy: Policy) -> Findings {
    Findings {
        dmarc: Some(DmarcFinding {
            result: DmarcResult::Fail,
            from_domain: "remote.test".into(),
            policy: Some(policy),
            disposition: policy,
            reason: None,
            overridden_by: None,
        }),
        ..Findings::default()
    }
}

#[test]
fn enforce_refuses_what_the_senders_dmarc_policy_rejects_and_record_only_records_it() {
    let mut enforcing = Harness::with_config(SessionConfig {
        mail_auth: MailAuthMode::Enforce,
        ..config()
    });
    enforcing.findings = dmarc_failure(Policy::Reject);
    send_one(&mut enforcing);
    let transcript = &enforcing.transcript;
    assert!(
        transcript.contains(
            "S: 550 5.7.1 Message refused: remote.test rejects mail from its domain that fails DMARC"
        ),
        "{transcript}"
    );
    assert!(transcript.contains("   abort "), "{transcript}");
    assert!(enforcing.stored.is_empty());
    // The session goes on.
    enforcing.send_line("NOOP");
    assert!(
        enforcing.transcript.ends_with("S: 250 2.0.0 Ok\n"),
        "{}",
        enforcing.transcript
    );

    // Quarantine is recorded, and the message kept.
    let mut quarantine = Harness::with_config(SessionConfig {
        mail_auth: MailAuthMode::Enforce,
        ..config()
    });
    quarantine.findings = dmarc_failure(Policy::Quarantine);
    send_one(&mut quarantine);
    let transcript = &quarantine.transcript;
    let marked = transcript.find("   quarantine").expect(transcript);
    assert!(
        marked < transcript.find("   commit ").unwrap(),
        "{transcript}"
    );
    assert!(
        transcript.contains(": quarantined: fails DMARC and remote.test asks for quarantine"),
        "{transcript}"
    );
    let data = String::from_utf8_lossy(&quarantine.stored[0].data).into_owned();
    assert!(
        data.contains("dmarc=fail (p=quarantine dis=quarantine) header.from=remote.test"),
        "{data}"
    );

    // Record: the same rejection is only written down.
    let mut recording = Harness::new();
    recording.findings = dmarc_failure(Policy::Reject);
    send_one(&mut recording);
    assert!(!recording.transcript.contains("quarantine"));
    let data = String::from_utf8_lossy(&recording.stored[0].data).into_owned();
    assert!(
        data.contains("dmarc=fail (p=reject dis=reject) header.from=remote.test"),
        "{data}"
    );
}

#[test]
fn an_spf_fail_is_refused_at_mail_when_the_instance_says_so() {
    use crate::mail_auth::SpfFailAction;
    use crate::mail_auth::spf::{SpfResult, SpfVerdict};
    let verdict = |result| SpfVerdict {
        result,
        domain: "remote.test".into(),
        mechanism: Some("-all".into()),
        explanation: None,
        problem: None,
    };
    let refusing = || {
        Harness::with_config(SessionConfig {
            spf_fail: SpfFailAction::Refuse,
            ..config()
        })
    };
    let mut failing = refusing();
    failing.spf = Some(verdict(SpfResult::Fail));
    failing.send_line("EHLO client.test");
    failing.send_line("MAIL FROM:<bob@remote.test>");
    let transcript = &failing.transcript;
    let asked = transcript
        .find("   spf <bob@remote.test>")
        .expect(transcript);
    let refused = transcript
        .find("S: 550 5.7.23 SPF check failed: remote.test does not let 192.0.2.7 send its mail")
        .expect(transcript);
    assert!(asked < refused, "{transcript}");
    // Anything but fail is accepted, and the session goes on.
    for result in [
        SpfResult::Pass,
        SpfResult::SoftFail,
        SpfResult::TempError,
        SpfResult::None,
    ] {
        let mut passing = refusing();
        passing.spf = Some(verdict(result));
        send_one(&mut passing);
        assert_eq!(
            passing.stored.len(),
            1,
            "{result:?}: {}",
            passing.transcript
        );
    }
    // Without the setting, nothing is asked at MAIL.
    let mut recording = Harness::new();
    recording.spf = Some(verdict(SpfResult::Fail));
    send_one(&mut recording);
    assert!(
        !recording.transcript.contains("   spf "),
        "{}",
        recording.transcript
    );
    assert_eq!(recording.stored.len(), 1);
}

/// RFC 8617 7.2: a DMARC reject forwarded through a trusted sealer whose
/// chain passes is delivered, and the field says why; an untrusted
/// sealer's chain changes nothing.
#[test]
fn a_trusted_sealers_passing_chain_turns_a_dmarc_reject_into_a_record() {
    use crate::mail_auth::arc::{ArcFinding, ArcResult};
    let sealed = |sealer: &str| Findings {
        arc: Some(ArcFinding {
            result: ArcResult::Pass,
            instances: 1,
            sealer: Some(sealer.into()),
            reason: None,
        }),
        ..dmarc_failure(Policy::Reject)
    };
    let enforcing = || {
        Harness::with_config(SessionConfig {
            mail_auth: MailAuthMode::Enforce,
            arc_trusted_sealers: vec!["fwd.test".into()],
            ..config()
        })
    };
    let mut trusted = enforcing();
    trusted.findings = sealed("fwd.test");
    send_one(&mut trusted);
    assert!(
        trusted.transcript.contains("S: 250 2.0.0 Ok: queued as"),
        "{}",
        trusted.transcript
    );
    let data = String::from_utf8_lossy(&trusted.stored[0].data).into_owned();
    assert!(
        data.contains("\tarc=pass (i=1 sealed by fwd.test);\r\n\tdmarc=fail (p=reject dis=none, overridden by ARC: trusted sealer fwd.test) header.from=remote.test\r\n"),
        "{data}"
    );

    let mut untrusted = enforcing();
    untrusted.findings = sealed("elsewhere.test");
    send_one(&mut untrusted);
    assert!(
        untrusted
            .transcript
            .contains("S: 550 5.7.1 Message refused"),
        "{}",
        untrusted.transcript
    );
    assert!(untrusted.stored.is_empty());
}
