//! postern-core must not depend, even indirectly, on anything that does
//! I/O or async: the deterministic simulation depends on it. This reads
//! Cargo.lock and walks postern-core's dependency tree.

use std::collections::BTreeSet;

const FORBIDDEN: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "turmoil",
    "hickory-resolver",
    "rustls",
    "async-std",
    "rand",
];

#[test]
fn core_depends_on_nothing_that_does_io() {
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    let lock: toml::Table = std::fs::read_to_string(lock_path).unwrap().parse().unwrap();
    let packages = lock["package"].as_array().unwrap();
    let dependencies_of = |name: &str| -> Vec<String> {
        packages
            .iter()
            .filter(|p| p["name"].as_str() == Some(name))
            .flat_map(|p| {
                p.get("dependencies")
                    .and_then(|d| d.as_array())
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|d| d.as_str().unwrap().split(' ').next().unwrap().to_owned())
            .collect()
    };
    // Start from core's normal dependencies: Cargo.lock also lists its
    // dev-dependencies, which never reach the library. (Registry crates'
    // own entries list only what they build with.)
    let manifest_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(manifest_path)
        .unwrap()
        .parse()
        .unwrap();
    let direct: Vec<String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(
        !dependencies_of("postern-core").is_empty(),
        "postern-core not found in Cargo.lock"
    );
    let mut seen = BTreeSet::new();
    let mut to_visit = direct;
    while let Some(name) = to_visit.pop() {
        if seen.insert(name.clone()) {
            to_visit.extend(dependencies_of(&name));
        }
    }
    let reached: Vec<&String> = seen
        .iter()
        .filter(|n| FORBIDDEN.contains(&n.as_str()))
        .collect();
    assert!(
        reached.is_empty(),
        "postern-core reaches {reached:?} through {seen:?}"
    );
}
