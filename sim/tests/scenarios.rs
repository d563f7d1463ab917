//! Every scenario in `scenarios/`, on fixed seeds, with its trace
//! snapshotted; the same seed twice gives the same bytes; a small swarm
//! passes; and a planted bug is found by the swarm and replayed exactly.

use postern_sim::{Options, PlantedBug, Report, Scenario, run};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.toml"));
    Scenario::read(&path).unwrap()
}

fn all_scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn seed(seed: u64) -> Options {
    Options {
        seed,
        ..Options::default()
    }
}

fn passes(name: &str) -> Report {
    let report = run(&scenario(name), &seed(1));
    assert!(
        report.passed(),
        "{name}: {:?}\n{}",
        report.violations,
        report.trace
    );
    report
}

#[test]
fn mailtraq_multihoming() {
    insta::assert_snapshot!(passes("mailtraq-multihoming").trace);
}

#[test]
fn ismail_secondary() {
    insta::assert_snapshot!(passes("ismail-secondary").trace);
}

#[test]
fn connection_flood() {
    let report = passes("connection-flood");
    assert_eq!(report.stats.refused_connections, 22);
    insta::assert_snapshot!(report.trace);
}

#[test]
fn crash_after_250() {
    insta::assert_snapshot!(passes("crash-after-250").trace);
}

fn digest(report: &Report) -> u64 {
    let mut hasher = DefaultHasher::new();
    report.trace.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn the_same_seed_gives_the_same_trace_byte_for_byte() {
    for path in all_scenarios() {
        let scenario = Scenario::read(&path).unwrap();
        let options = Options {
            seed: 7,
            randomize: true,
            bug: None,
        };
        let (first, second) = (run(&scenario, &options), run(&scenario, &options));
        assert_eq!(digest(&first), digest(&second), "{}", path.display());
        assert_eq!(first, second);
    }
}

/// A few dozen seeds of every scenario, faults moved within their jitter.
#[test]
fn a_small_swarm_passes() {
    for path in all_scenarios() {
        let scenario = Scenario::read(&path).unwrap();
        for seed in 0..40 {
            let options = Options {
                seed,
                randomize: true,
                bug: None,
            };
            let report = run(&scenario, &options);
            assert!(
                report.passed(),
                "{} seed {seed}: {:?}; replay: postern-sim run {} --seed {seed} --randomize",
                scenario.name,
                report.violations,
                path.display()
            );
        }
    }
}

/// The proof that the invariants find bugs: with the store acknowledging
/// before it syncs, a swarm over the crash scenario finds a lost message
/// within 10 seeds, and the seed it prints replays the loss exactly.
#[test]
fn the_swarm_finds_a_planted_bug_and_its_seed_replays_it() {
    let scenario = scenario("crash-after-250");
    let planted = |seed| Options {
        seed,
        randomize: true,
        bug: Some(PlantedBug::AckBeforeSync),
    };
    let found = (0..10)
        .map(|seed| (seed, run(&scenario, &planted(seed))))
        .find(|(_, report)| !report.passed());
    let (seed, report) = found.expect("the planted bug is found within 10 seeds");
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.contains("answered 250 but is not in the store")),
        "{:?}",
        report.violations
    );
    assert_eq!(
        run(&scenario, &planted(seed)),
        report,
        "the replay is exact"
    );
    assert!(
        run(
            &scenario,
            &Options {
                bug: None,
                ..planted(seed)
            }
        )
        .passed()
    );
}
