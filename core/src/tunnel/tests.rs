use super::*;
use proptest::prelude::*;

fn at(seconds: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(seconds)
}

#[test]
fn targets_parse_as_host_and_port() {
    let address = |a: &str| TargetHost::Address(a.parse().unwrap());
    let name = |n: &str| TargetHost::Name(n.to_owned());
    let rows: [(&str, Option<(TargetHost, u16)>); 14] = [
        ("127.0.0.1:2525", Some((address("127.0.0.1"), 2525))),
        ("[::1]:119", Some((address("::1"), 119))),
        (
            "News.Example.NET:119",
            Some((name("news.example.net"), 119)),
        ),
        ("irc.example.:6667", Some((name("irc.example"), 6667))),
        ("localhost:6667", Some((name("localhost"), 6667))),
        ("10.0.0.2:65535", Some((address("10.0.0.2"), 65535))),
        ("example.net", None),
        ("example.net:", None),
        ("example.net:0", None),
        ("example.net:65536", None),
        ("::1:119", None),
        ("[::1:119", None),
        ("[example.net]:119", None),
        ("bad host:25", None),
    ];
    for (text, expected) in rows {
        let parsed = text.parse::<Target>();
        match expected {
            Some((host, port)) => assert_eq!(parsed, Ok(Target { host, port }), "{text}"),
            None => assert!(parsed.is_err(), "{text} parsed as {parsed:?}"),
        }
    }
}

#[test]
fn targets_display_as_written_back() {
    for text in ["127.0.0.1:2525", "[::1]:119", "news.example.net:119"] {
        assert_eq!(text.parse::<Target>().unwrap().to_string(), text);
    }
}

#[test]
fn the_default_access_is_loopback_and_private_networks_only() {
    let access = default_access(Vec::new());
    let rows = [
        ("127.0.0.1", true),
        ("127.3.4.5", true),
        ("::1", true),
        ("::ffff:127.0.0.1", true),
        ("10.1.2.3", true),
        ("172.16.0.1", true),
        ("172.31.255.254", true),
        ("192.168.1.20", true),
        ("fd12:3456::1", true),
        ("172.32.0.1", false),
        ("192.169.0.1", false),
        ("8.8.8.8", false),
        ("203.0.113.9", false),
        ("2001:db8::1", false),
        ("fe80::1", false),
    ];
    for (client, admitted) in rows {
        let client: IpAddr = client.parse().unwrap();
        assert_eq!(access.admits(client), admitted, "{client}");
    }
    let denied = default_access(vec!["192.168.9.0/24".parse().unwrap()]);
    assert!(!denied.admits("192.168.9.7".parse().unwrap()));
    assert!(denied.admits("192.168.8.7".parse().unwrap()));
}

#[test]
fn a_relay_half_closes_then_finishes_when_both_sides_are_done() {
    let mut relay = Relay::new(at(0), Duration::from_secs(60));
    assert_eq!(relay.relayed(at(1), Side::Client, 5), Next::Relay);
    assert_eq!(
        relay.closed(at(2), Side::Client),
        Next::ShutdownToward(Side::Target)
    );
    assert!(relay.is_done(Side::Client));
    assert!(!relay.is_done(Side::Target));
    // The other direction goes on after the half-close.
    assert_eq!(relay.relayed(at(3), Side::Target, 7), Next::Relay);
    assert_eq!(relay.closed(at(4), Side::Target), Next::Finish);
    let summary = relay.summary(at(4));
    assert_eq!(summary.ending, Ending::Closed);
    assert_eq!(
        summary.to_string(),
        "5 bytes client to target, 7 bytes target to client, 4s; both sides closed"
    );
}

#[test]
fn the_target_closing_first_shuts_down_toward_the_client() {
    let mut relay = Relay::new(at(0), Duration::from_secs(60));
    assert_eq!(
        relay.closed(at(1), Side::Target),
        Next::ShutdownToward(Side::Client)
    );
    assert_eq!(relay.closed(at(1), Side::Client), Next::Finish);
}

#[test]
fn traffic_moves_the_idle_deadline_and_silence_ends_the_relay() {
    let mut relay = Relay::new(at(0), Duration::from_secs(30));
    assert_eq!(relay.poll_timeout(), at(30));
    relay.relayed(at(20), Side::Target, 1);
    assert_eq!(relay.poll_timeout(), at(50));
    // A deadline read before the byte moved is stale: keep relaying.
    assert_eq!(relay.timeout(at(30)), Next::Relay);
    assert_eq!(relay.timeout(at(50)), Next::Finish);
    assert_eq!(
        relay.summary(at(50)).to_string(),
        "0 bytes client to target, 1 bytes target to client, 50s; closed after 30s idle (idle_timeout)"
    );
}

#[test]
fn the_first_ending_is_the_one_logged() {
    let mut relay = Relay::new(at(0), Duration::from_secs(30));
    assert_eq!(
        relay.failed(Side::Target, "connection reset\r\n".into()),
        Next::Finish
    );
    relay.stop();
    assert_eq!(
        relay.summary(at(1)).to_string(),
        "0 bytes client to target, 0 bytes target to client, 1s; the target connection failed: connection reset\\r\\n"
    );
    let mut stopped = Relay::new(at(0), Duration::from_secs(30));
    stopped.stop();
    assert_eq!(stopped.summary(at(0)).ending, Ending::Stopped);
}

#[derive(Clone, Debug)]
enum Input {
    Bytes(Side, u16),
    Close(Side),
    Wait(u8),
}

fn input() -> impl Strategy<Value = Input> {
    let side = prop_oneof![Just(Side::Client), Just(Side::Target)];
    prop_oneof![
        (side.clone(), any::<u16>()).prop_map(|(s, n)| Input::Bytes(s, n)),
        side.prop_map(Input::Close),
        any::<u8>().prop_map(Input::Wait),
    ]
}

proptest! {
    /// Whatever order the sides send and close in, the counters are the
    /// sums of what each side sent, the relay finishes exactly when both
    /// sides are done (or it idled out), and the idle deadline is always
    /// the last activity plus the timeout.
    #[test]
    fn relays_count_every_byte_and_finish_only_when_both_sides_are_done(
        inputs in proptest::collection::vec(input(), 0..64),
    ) {
        let idle = Duration::from_secs(100);
        let mut relay = Relay::new(at(0), idle);
        let mut now = at(0);
        let (mut sent_by_client, mut sent_by_target) = (0u64, 0u64);
        let (mut client_done, mut target_done) = (false, false);
        let mut last = now;
        for input in inputs {
            match input {
                Input::Wait(seconds) => {
                    now = now + Duration::from_secs(u64::from(seconds));
                    let next = relay.timeout(now);
                    if now >= last + idle {
                        prop_assert_eq!(next, Next::Finish);
                        prop_assert_eq!(relay.summary(now).ending, Ending::Idle(idle));
                        return Ok(());
                    }
                    prop_assert_eq!(next, Next::Relay);
                }
                Input::Bytes(side, n) => {
                    let done = match side { Side::Client => client_done, Side::Target => target_done };
                    if done { continue; }
                    prop_assert_eq!(relay.relayed(now, side, usize::from(n)), Next::Relay);
                    match side {
                        Side::Client => sent_by_client += u64::from(n),
                        Side::Target => sent_by_target += u64::from(n),
                    }
                    last = now;
                }
                Input::Close(side) => {
                    let done = match side { Side::Client => &mut client_done, Side::Target => &mut target_done };
                    if *done { continue; }
                    *done = true;
                    last = now;
                    let next = relay.closed(now, side);
                    if client_done && target_done {
                        prop_assert_eq!(next, Next::Finish);
                        prop_assert_eq!(relay.summary(now).ending, Ending::Closed);
                        break;
                    }
                    prop_assert!(matches!(next, Next::ShutdownToward(other) if other != side));
                }
            }
            prop_assert_eq!(relay.poll_timeout(), last + idle);
        }
        let summary = relay.summary(now);
        prop_assert_eq!(summary.to_target, sent_by_client);
        prop_assert_eq!(summary.to_client, sent_by_target);
    }
}
