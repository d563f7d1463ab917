//! N nodes sharing one queue store, with leases on the virtual clock:
//! a node crashed mid-delivery, a node paused past its lease, a node cut
//! off from the store. Each passes at seed 1 with its trace snapshotted
//! and shows the fault really happened; each planted lease bug is found by
//! a swarm and its seed replays it. (The same-seed and small-swarm tests
//! in `scenarios.rs` run these scenarios too.)

use postern_sim::{Options, PlantedBug, Report, Scenario, run};
use std::path::Path;

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.toml"));
    Scenario::read(&path).unwrap()
}

fn passes(name: &str) -> Report {
    let report = run(
        &scenario(name),
        &Options {
            seed: 1,
            ..Options::default()
        },
    );
    assert!(
        report.passed(),
        "{name}: {:?}\n{}",
        report.violations,
        report.trace
    );
    report
}

/// The lines of `report`'s trace from `host` that contain `text`.
fn lines<'a>(report: &'a Report, host: &str, text: &str) -> Vec<&'a str> {
    let host = format!("host{{ip={host}}}");
    report
        .trace
        .lines()
        .filter(|line| line.contains(&host) && line.contains(text))
        .collect()
}

#[test]
fn a_node_crashed_mid_delivery_has_its_messages_finished_by_another() {
    let report = passes("nodes-crash-mid-delivery");
    let stats = report.stats;
    assert!(stats.lease_takeovers >= 1, "{stats:?}");
    // Node 2 held messages when it crashed; nodes 1 or 3 claimed them
    // once its leases ran out (10 s), not before.
    let taken = lines(&report, "10.0.0.1", "after node 2's lease ran out");
    let taken3 = lines(&report, "10.0.0.3", "after node 2's lease ran out");
    assert!(!taken.is_empty() || !taken3.is_empty(), "{}", report.trace);
    assert_eq!(stats.queued, 0);
    insta::assert_snapshot!(report.trace);
}

#[test]
fn a_node_paused_past_its_lease_is_fenced_when_it_wakes() {
    let report = passes("nodes-pause-past-lease");
    let stats = report.stats;
    assert!(stats.lease_takeovers >= 1, "{stats:?}");
    assert!(stats.fenced_writes >= 1, "{stats:?}");
    let refused = lines(&report, "10.0.0.2", "refused: ");
    assert!(!refused.is_empty(), "{}", report.trace);
    assert!(!lines(&report, "10.0.0.2", "lease lost, another node has it").is_empty());
    insta::assert_snapshot!(report.trace);
}

#[test]
fn a_node_cut_off_from_the_store_answers_451_and_resumes_when_healed() {
    let report = passes("nodes-partitioned-from-store");
    let stats = report.stats;
    assert!(stats.store_unreachable > 0, "{stats:?}");
    // The client of node 2 was told 451 4.3.0, never 250, while cut off.
    let refused = lines(&report, "10.1.0.2", "not accepted: 451 4.3.0");
    assert!(refused.len() >= 3, "{}", report.trace);
    // After the repair node 2 acknowledges again.
    let repaired = report
        .trace
        .lines()
        .position(|line| line.contains("fault: repair node2"))
        .expect("the link is repaired");
    let after: Vec<&str> = report.trace.lines().skip(repaired).collect();
    assert!(
        after
            .iter()
            .any(|line| line.contains("host{ip=10.1.0.2}") && line.contains("queued as")),
        "{}",
        report.trace
    );
    assert!(stats.lease_takeovers >= 1, "{stats:?}");
    insta::assert_snapshot!(report.trace);
}

/// Runs `name` with `bug` planted on seeds 0 to 9 until a run fails;
/// checks the violation, that the seed replays it exactly, and that the
/// same seed without the bug passes.
fn the_swarm_finds(name: &str, bug: PlantedBug, violation: &str) {
    let scenario = scenario(name);
    let planted = |seed| Options {
        seed,
        randomize: true,
        bug: Some(bug),
    };
    let (seed, report) = (0..10)
        .map(|seed| (seed, run(&scenario, &planted(seed))))
        .find(|(_, report)| !report.passed())
        .expect("the planted bug is found within 10 seeds");
    assert!(
        report.violations.iter().any(|v| v.contains(violation)),
        "{:?}",
        report.violations
    );
    assert_eq!(
        run(&scenario, &planted(seed)),
        report,
        "the replay is exact"
    );
    let fixed = Options {
        bug: None,
        ..planted(seed)
    };
    assert!(run(&scenario, &fixed).passed());
}

#[test]
fn the_swarm_finds_a_claim_that_ignores_a_live_lease() {
    the_swarm_finds(
        "nodes-crash-mid-delivery",
        PlantedBug::ClaimIgnoresLease,
        "two nodes held it at once",
    );
}

#[test]
fn the_swarm_finds_a_store_that_ignores_the_fence() {
    the_swarm_finds(
        "nodes-pause-past-lease",
        PlantedBug::FenceIgnored,
        "a fenced write landed",
    );
}

#[test]
fn the_swarm_finds_a_node_that_acknowledges_what_it_cannot_store() {
    the_swarm_finds(
        "nodes-partitioned-from-store",
        PlantedBug::AckWhileCutOff,
        "answered 250 but is not in the store",
    );
}

/// A crash of one node drops its tasks: the run must not depend on what
/// ran before it in the process (see `scenarios.rs`).
#[test]
fn a_node_crash_replays_whatever_ran_before_it() {
    let options = Options {
        seed: 7,
        randomize: true,
        bug: None,
    };
    let first = run(&scenario("nodes-crash-mid-delivery"), &options);
    for _ in 0..3 {
        let _ = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async { tokio::spawn(async {}).await });
        let again = run(&scenario("nodes-crash-mid-delivery"), &options);
        assert_eq!(first.trace, again.trace);
    }
}
