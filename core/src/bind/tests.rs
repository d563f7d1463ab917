use super::*;
use crate::config::PortNames;
use proptest::prelude::*;

fn listener(instance: &str, spec: &str) -> Listener {
    Listener {
        instance: instance.to_owned(),
        kind: ServiceKind::Smtp,
        role: Role::Primary,
        spec: PortNames::default().parse(spec).unwrap(),
    }
}

/// A host like a small office server: loopback, a LAN address and a
/// public one, as in the Mailtraq example.
fn host() -> HostAddresses {
    HostAddresses {
        networks: ["127.0.0.0/8", "::1", "192.168.1.1", "194.222.58.129"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect(),
    }
}

fn conflicts(listeners: Vec<Listener>) -> Vec<String> {
    match plan(listeners, &host()) {
        Ok(plan) => panic!("expected conflicts, got {plan:?}"),
        Err(conflicts) => conflicts.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_mailtraq_example_is_a_valid_plan() {
    let plan = plan(
        vec![
            listener("local", "127.0.0.1:25"),
            listener("lan", "192.168.1.1:25"),
            listener("internet", "194.222.58.129:smtp"),
            listener("pop", "pop3"),
        ],
        &host(),
    )
    .unwrap();
    assert_eq!(plan.listeners.len(), 4);
    let taker = |a: &str, port| {
        plan.listener_for(a.parse().unwrap(), port)
            .map(|l| l.instance.clone())
    };
    assert_eq!(taker("192.168.1.1", 25).as_deref(), Some("lan"));
    assert_eq!(taker("127.0.0.1", 110).as_deref(), Some("pop"));
    assert_eq!(taker("127.0.0.2", 25), None);
}

#[test]
fn multi_homing_on_an_all_interfaces_port_is_refused_in_either_order() {
    let before = conflicts(vec![
        listener("all", "25"),
        listener("local", "127.0.0.1:25"),
    ]);
    let after = conflicts(vec![
        listener("local", "127.0.0.1:25"),
        listener("all", "smtp"),
    ]);
    for text in [&before, &after] {
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].starts_with(
                "instance \"local\" listens on 127.0.0.1:25 but instance \"all\" holds port 25 on every interface"
            ),
            "{text:?}"
        );
    }
}

#[test]
fn a_port_is_used_once_for_one_purpose() {
    let text = conflicts(vec![listener("smtp", "25"), listener("other", "25")]);
    assert_eq!(text.len(), 1);
    assert!(text[0].contains("\"smtp\" and \"other\" both listen on port 25 on every interface"));
}

#[test]
fn an_exact_duplicate_is_a_conflict() {
    let text = conflicts(vec![
        listener("a", "127.0.0.1:25"),
        listener("b", "127.0.0.1:smtp"),
    ]);
    assert_eq!(text.len(), 1);
    assert!(text[0].contains("\"a\" and \"b\" both listen on 127.0.0.1:25"));
}

#[test]
fn every_named_address_must_be_the_hosts() {
    let text = conflicts(vec![listener("lan", "192.169.1.1:25")]);
    assert_eq!(text.len(), 1);
    assert!(text[0].contains("192.169.1.1 is not an address of this host"));
}

#[test]
fn every_conflict_is_reported_at_once() {
    let text = conflicts(vec![
        listener("a", "25"),
        listener("b", "127.0.0.1:25"),
        listener("c", "127.0.0.1:25"),
        listener("d", "10.9.9.9:110"),
    ]);
    assert_eq!(text.len(), 4, "{text:#?}");
}

fn service(name: &str, primary: &str, secondary: Option<&str>) -> ServiceConfig {
    let names = PortNames::default();
    let mut config = crate::config::parse(&format!(
        "domain = [{{ name = \"x.test\" }}]\n[[service]]\nname = \"{name}\"\nkind = \"smtp\"\nlisten = \"{primary}\"\n"
    ))
    .unwrap()
    .services
    .remove(0);
    config.secondary_listen = secondary.map(|s| names.parse(s).unwrap());
    config
}

#[test]
fn an_ismail_secondary_on_the_same_port_without_addresses_is_dropped() {
    let same = listeners(&[service("mx", "25", Some("smtp"))]);
    assert_eq!(same.len(), 1, "only the primary applies");
    let other_port = listeners(&[service("mx", "25", Some("2525"))]);
    assert_eq!(other_port.len(), 2);
    assert_eq!(other_port[1].role, Role::Secondary);
    let with_address = listeners(&[service("mx", "25", Some("127.0.0.1:25"))]);
    let text = conflicts(with_address);
    assert!(
        text[0].contains(
            "instance \"mx\" (secondary) listens on 127.0.0.1:25 but instance \"mx\" holds port 25"
        ),
        "{text:?}"
    );
}

const ADDRESSES: [&str; 4] = ["127.0.0.1", "127.0.0.2", "::1", "10.9.9.9"];

fn arbitrary_listeners() -> impl Strategy<Value = Vec<Listener>> {
    let one = (prop::option::of(0..ADDRESSES.len()), 25u16..28);
    prop::collection::vec(one, 0..7).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (address, port))| Listener {
                instance: format!("i{i}"),
                kind: ServiceKind::Smtp,
                role: Role::Primary,
                spec: PortSpec {
                    address: address.map(|a| ADDRESSES[a].parse().unwrap()),
                    port,
                },
            })
            .collect()
    })
}

proptest! {
    /// An accepted plan never has two listeners that could receive the
    /// same connection; a rejected one names only real problems, and all
    /// of them.
    #[test]
    fn plans_are_sound_and_conflicts_are_real(listeners in arbitrary_listeners()) {
        let host = host();
        let overlapping_pairs = listeners
            .iter()
            .enumerate()
            .flat_map(|(i, a)| listeners[i + 1..].iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.spec.overlaps(&b.spec))
            .count();
        let missing = listeners
            .iter()
            .filter(|l| l.spec.address.is_some_and(|a| !host.has(a)))
            .count();
        match plan(listeners.clone(), &host) {
            Ok(plan) => {
                prop_assert_eq!(overlapping_pairs + missing, 0);
                for (i, a) in plan.listeners.iter().enumerate() {
                    for b in &plan.listeners[i + 1..] {
                        prop_assert!(!a.spec.overlaps(&b.spec), "{:?} and {:?}", a, b);
                    }
                }
            }
            Err(conflicts) => {
                prop_assert!(!conflicts.is_empty());
                prop_assert_eq!(conflicts.len(), overlapping_pairs + missing);
                for conflict in &conflicts {
                    match conflict.listeners().as_slice() {
                        [a, b] => prop_assert!(a.spec.overlaps(&b.spec)),
                        [a] => prop_assert!(!host.has(a.spec.address.unwrap())),
                        other => prop_assert!(false, "{:?}", other),
                    }
                }
            }
        }
    }
}
