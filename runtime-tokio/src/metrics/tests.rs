use super::*;
use postern_core::admission::HostKey;
use postern_core::auth::Identity;
use postern_core::remote_log::Level as LogLevel;
use std::net::{IpAddr, Ipv4Addr};

/// The value of the sample `name{labels}` in `text`, if there is one.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

fn leaked() -> &'static Metrics {
    Box::leak(Box::new(Metrics::new()))
}

#[test]
fn connections_count_admitted_refused_and_open() {
    let metrics = Metrics::new();
    metrics.instance_started("mx", "smtp");
    let first = metrics.connection_admitted("mx", "smtp");
    let second = metrics.connection_admitted("mx", "smtp");
    metrics.connection_refused("mx", &Refusal::AccessDenied);
    metrics.connection_refused("mx", &Refusal::TooManyConnections { limit: 2 });
    let host = HostKey::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 64);
    metrics.connection_refused("mx", &Refusal::TooManyFromHost { limit: 1, host });
    metrics.connection_refused("mx", &Refusal::TooManyFromHost { limit: 1, host });
    drop(first);
    let text = metrics.encode();
    let at = |series: &str| sample(&text, series);
    assert_eq!(
        at("postern_connections_total{instance=\"mx\",kind=\"smtp\"}"),
        Some(2.0)
    );
    assert_eq!(at("postern_connections_open{instance=\"mx\"}"), Some(1.0));
    for (reason, count) in [("access", 1.0), ("quota_total", 1.0), ("quota_host", 2.0)] {
        let series =
            format!("postern_connections_refused_total{{instance=\"mx\",reason=\"{reason}\"}}");
        assert_eq!(at(&series), Some(count), "{series}");
    }
    let figures = &metrics.snapshot().instances[0];
    assert_eq!((figures.open, figures.admitted, figures.refused), (1, 2, 4));
    drop(second);
    assert_eq!(metrics.snapshot().instances[0].open, 0);
}

#[test]
fn an_instance_shows_at_zero_before_its_first_connection() {
    let metrics = Metrics::new();
    metrics.instance_started("pop", "pop3");
    let text = metrics.encode();
    assert_eq!(
        sample(
            &text,
            "postern_connections_total{instance=\"pop\",kind=\"pop3\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "postern_connections_open{instance=\"pop\"}"),
        Some(0.0)
    );
    assert_eq!(
        metrics.snapshot().instances,
        vec![InstanceFigures {
            name: "pop".into(),
            kind: "pop3".into(),
            open: 0,
            admitted: 0,
            refused: 0,
            accepted: 0,
        }]
    );
}

#[test]
fn deliveries_count_by_result_and_final_ones_feed_the_latency() {
    let metrics = Metrics::new();
    metrics.message_accepted("mx");
    metrics.message_accepted("submission");
    metrics.message_accepted("mx");
    metrics.delivery(DeliveryResult::Delivered, Some(Duration::from_millis(20)));
    metrics.delivery(DeliveryResult::Deferred, None);
    metrics.delivery(DeliveryResult::Deferred, None);
    metrics.delivery(DeliveryResult::Bounced, Some(Duration::from_secs(7200)));
    let text = metrics.encode();
    let at = |series: &str| sample(&text, series);
    assert_eq!(
        at("postern_messages_accepted_total{instance=\"mx\"}"),
        Some(2.0)
    );
    assert_eq!(
        at("postern_deliveries_total{result=\"delivered\"}"),
        Some(1.0)
    );
    assert_eq!(
        at("postern_deliveries_total{result=\"deferred\"}"),
        Some(2.0)
    );
    assert_eq!(
        at("postern_deliveries_total{result=\"bounced\"}"),
        Some(1.0)
    );
    assert_eq!(at("postern_delivery_latency_seconds_count"), Some(2.0));
    assert_eq!(at("postern_delivery_latency_seconds_sum"), Some(7200.02));
    // 20 ms falls in the 50 ms bucket, two hours in the four-hour one.
    assert_eq!(
        at("postern_delivery_latency_seconds_bucket{le=\"0.01\"}"),
        Some(0.0)
    );
    assert_eq!(
        at("postern_delivery_latency_seconds_bucket{le=\"0.05\"}"),
        Some(1.0)
    );
    assert_eq!(
        at("postern_delivery_latency_seconds_bucket{le=\"3600.0\"}"),
        Some(1.0)
    );
    assert_eq!(
        at("postern_delivery_latency_seconds_bucket{le=\"14400.0\"}"),
        Some(2.0)
    );
    let snapshot = metrics.snapshot();
    assert_eq!(
        (
            snapshot.accepted,
            snapshot.delivered,
            snapshot.deferred,
            snapshot.bounced
        ),
        (0, 1, 2, 1),
        "accepted sums the instances the server named (none here)"
    );
}

#[test]
fn every_result_and_protocol_is_there_from_the_start() {
    let text = Metrics::new().encode();
    for result in DeliveryResult::ALL {
        let series = format!("postern_deliveries_total{{result=\"{}\"}}", result.label());
        assert_eq!(sample(&text, &series), Some(0.0), "{series}");
    }
    for protocol in LoginProtocol::ALL {
        let series = format!(
            "postern_login_failures_total{{protocol=\"{}\"}}",
            protocol.label()
        );
        assert_eq!(sample(&text, &series), Some(0.0), "{series}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn the_queue_gauges_follow_the_runner_and_the_age_is_read_at_encoding() {
    let metrics = Metrics::new();
    let now = unix_seconds(SystemTime::now());
    metrics.queue_changed(QueueFigures {
        delivering: 2,
        waiting: 5,
        unreadable: 1,
        oldest_received_at: Some(UnixTime(now - 90)),
    });
    let text = metrics.encode();
    let at = |series: &str| sample(&text, series);
    assert_eq!(
        at("postern_queue_messages{state=\"delivering\"}"),
        Some(2.0)
    );
    assert_eq!(at("postern_queue_messages{state=\"waiting\"}"), Some(5.0));
    assert_eq!(
        at("postern_queue_messages{state=\"unreadable\"}"),
        Some(1.0)
    );
    let age = at("postern_queue_oldest_message_age_seconds").unwrap();
    assert!((90.0..100.0).contains(&age), "{age}");
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.queue.total(), 8);
    let waited = snapshot.oldest_queued_age.unwrap().as_secs();
    assert!((90..100).contains(&waited), "{waited}");
    metrics.queue_changed(QueueFigures::default());
    let text = metrics.encode();
    assert_eq!(
        sample(&text, "postern_queue_oldest_message_age_seconds"),
        Some(0.0)
    );
    assert_eq!(metrics.snapshot().oldest_queued_age, None);
}

#[test]
fn only_refused_logins_count_as_failures() {
    let metrics = Metrics::new();
    let accepted = AuthVerdict::Accepted(Identity {
        login: "alice".into(),
        send_as: postern_core::auth::SendAs::Anyone,
    });
    metrics.login_verdict(LoginProtocol::Imap, &accepted);
    metrics.login_verdict(LoginProtocol::Imap, &AuthVerdict::Rejected);
    metrics.login_verdict(LoginProtocol::Imap, &AuthVerdict::LockedOut);
    metrics.login_verdict(LoginProtocol::Pop3, &AuthVerdict::Unavailable);
    metrics.login_failed(LoginProtocol::Submission);
    let text = metrics.encode();
    let at = |protocol: &str| {
        sample(
            &text,
            &format!("postern_login_failures_total{{protocol=\"{protocol}\"}}"),
        )
    };
    assert_eq!(at("imap"), Some(2.0));
    assert_eq!(at("pop3"), Some(1.0));
    assert_eq!(at("submission"), Some(1.0));
    assert_eq!(at("smtp"), Some(0.0));
    assert_eq!(metrics.snapshot().login_failures, 4);
}

#[test]
fn tls_handshakes_count_by_instance_and_result() {
    let metrics = Metrics::new();
    metrics.tls_handshake("imaps", true);
    metrics.tls_handshake("imaps", true);
    metrics.tls_handshake("imaps", false);
    let text = metrics.encode();
    assert_eq!(
        sample(
            &text,
            "postern_tls_handshakes_total{instance=\"imaps\",result=\"ok\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "postern_tls_handshakes_total{instance=\"imaps\",result=\"failed\"}"
        ),
        Some(1.0)
    );
}

#[test]
fn the_start_time_is_the_registrys() {
    let before = unix_seconds(SystemTime::now());
    let metrics = Metrics::new();
    let text = metrics.encode();
    let started = sample(&text, "postern_start_time_seconds").unwrap();
    assert!((before as f64..before as f64 + 5.0).contains(&started));
    assert_eq!(unix_seconds(metrics.snapshot().started), started as i64);
}

#[test]
fn the_problem_ring_keeps_the_last_warnings_and_errors_escaped_and_cut() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let metrics = leaked();
    let subscriber = tracing_subscriber::registry().with(ProblemLayer::new(metrics));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("fine");
        tracing::debug!("also fine");
        tracing::error!(queue_id = "Q1", "first error");
        for n in 0..STATUS_RECENT_PROBLEMS_MAX {
            tracing::warn!(instance = "mx", "warning {n}");
        }
        tracing::error!(peer = "x", "forged\r\nline {}", "x".repeat(5000));
    });
    let problems = metrics.snapshot().recent_problems;
    assert_eq!(problems.len(), STATUS_RECENT_PROBLEMS_MAX);
    // The first error and warning 0 were pushed out by the later lines.
    assert_eq!(problems[0].text, "warning 1");
    assert_eq!(problems[0].level, LogLevel::Warn);
    assert_eq!(problems[0].instance.as_deref(), Some("mx"));
    let last = problems.last().unwrap();
    assert_eq!(last.level, LogLevel::Error);
    assert!(
        last.text.starts_with("forged\\r\\nline xxx"),
        "{}",
        last.text
    );
    assert!(last.text.ends_with("..."));
    assert!(last.text.len() <= postern_core::limits::STATUS_PROBLEM_LINE_BYTES_MAX);
    assert!(!problems.iter().any(|p| p.text.contains("fine")));
}

#[test]
fn spam_control_verdicts_are_counted_by_instance() {
    let metrics = Metrics::new();
    metrics.spam_control("mx", SpamVerdict::ClientListed);
    metrics.spam_control("mx", SpamVerdict::ClientListed);
    metrics.spam_control("mx", SpamVerdict::Greylisted);
    metrics.spam_control("submission", SpamVerdict::LookupFailed);
    let text = metrics.encode();
    let at = |instance: &str, verdict: &str| {
        sample(
            &text,
            &format!("postern_spam_control_total{{instance=\"{instance}\",verdict=\"{verdict}\"}}"),
        )
    };
    assert_eq!(at("mx", "client_listed"), Some(2.0));
    assert_eq!(at("mx", "greylisted"), Some(1.0));
    assert_eq!(at("submission", "lookup_failed"), Some(1.0));
    assert_eq!(at("mx", "sender_listed"), None);
}
