//! The mail authentication lines of `postern explain` for an SMTP or
//! submission instance that checks its senders: what SPF says of the
//! sender and the client (`--dns`), and what the instance does with it.

use super::{Question, line};
use crate::config::ServiceConfig;
use crate::mail_auth::spf::{SpfResult, SpfVerdict};
use crate::mail_auth::{MailAuthMode, SpfFailAction};

/// The SPF line for the question's sender; false when SPF refuses it at
/// MAIL (nothing after MAIL would happen). Nothing is said when the
/// instance checks no sender.
pub(super) fn sender_lines(
    text: &mut String,
    service: &ServiceConfig,
    question: &Question,
    spf: Option<&SpfVerdict>,
) -> bool {
    let refuses = service.spf_fail == SpfFailAction::Refuse;
    if service.mail_auth == MailAuthMode::Off && !refuses {
        return true;
    }
    if service.relay.vouches_for(question.remote, false) {
        line(
            text,
            "spf",
            "not checked: mail from a network relay names is ours",
        );
        return true;
    }
    let when = if refuses {
        "at MAIL (spf_fail = \"refuse\")"
    } else {
        "at the end of DATA, and recorded in Authentication-Results"
    };
    let Some(verdict) = spf else {
        line(
            text,
            "spf",
            &format!("checked {when}; with --dns it is looked up now"),
        );
        return true;
    };
    let why = verdict
        .problem
        .as_deref()
        .or(verdict.mechanism.as_deref())
        .map_or(String::new(), |w| format!(" ({w})"));
    let result = format!(
        "{} for {} from {}{why}",
        verdict.result.as_str(),
        verdict.domain,
        question.remote
    );
    if verdict.result == SpfResult::Fail && refuses {
        line(
            text,
            "spf",
            &format!(
                "{result}: refused at MAIL with 550 5.7.23 SPF check failed: {} does not let {} send its mail",
                verdict.domain, question.remote
            ),
        );
        return false;
    }
    line(text, "spf", &format!("{result}: checked {when}"));
    true
}

#[cfg(test)]
mod tests {
    use super::super::{Question, explain_with};
    use crate::address::{parse_forward_path, parse_reverse_path};
    use crate::bind::{HostAddresses, listeners, plan};
    use crate::explain::SpamFacts;
    use crate::mail_auth::spf::{SpfResult, SpfVerdict};

    const CONFIG: &str = r#"
[[service]]
name = "checking"
kind = "smtp"
listen = "127.0.0.1:2525"
relay = ["127.0.0.5"]
mail_auth = "record"

[[service]]
name = "plain"
kind = "smtp"
listen = "127.0.0.2:2525"

[[domain]]
name = "example.test"
users = ["alice"]
"#;

    fn explain_from(local: &str, remote: &str, spf: Option<SpfVerdict>) -> String {
        let config = crate::config::parse(CONFIG).unwrap();
        let host = HostAddresses {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
        };
        let plan = plan(listeners(&config.services), &host).unwrap();
        let question = Question {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            from: Some(parse_reverse_path("<bob@remote.test>", false).unwrap()),
            to: vec![parse_forward_path("<alice@example.test>", false).unwrap()],
            size: None,
        };
        let facts = SpamFacts {
            spf,
            ..SpamFacts::default()
        };
        explain_with(&config, &plan, &question, &facts).text
    }

    #[test]
    fn the_spf_line_says_what_is_checked_when_and_for_whom() {
        let softfail = SpfVerdict {
            result: SpfResult::SoftFail,
            domain: "remote.test".into(),
            mechanism: Some("~all".into()),
            explanation: None,
            problem: None,
        };
        let text = explain_from("127.0.0.1:2525", "192.0.2.7", Some(softfail));
        assert!(
            text.contains("softfail for remote.test from 192.0.2.7 (~all): checked at the end of DATA, and recorded in Authentication-Results"),
            "{text}"
        );
        assert!(text.contains("recipient"), "{text}");
        let vouched = explain_from("127.0.0.1:2525", "127.0.0.5", None);
        assert!(
            vouched.contains("not checked: mail from a network relay names is ours"),
            "{vouched}"
        );
        // An instance that checks nothing says nothing of SPF.
        let plain = explain_from("127.0.0.2:2525", "192.0.2.7", None);
        assert!(!plain.contains("spf"), "{plain}");
    }
}
