//! DKIM keys for the tests, made the way an operator makes them.

use super::postern;
use std::path::Path;

/// Runs `postern dkim keygen DOMAIN --selector SELECTOR --algorithm
/// ALGORITHM` with the key written to `dir/SELECTOR.key`; the TXT record
/// it says to publish, as its name and its text.
pub fn keygen(dir: &Path, domain: &str, selector: &str, algorithm: &str) -> (String, String) {
    let output = postern()
        .args(["dkim", "keygen", domain, "--selector", selector])
        .args(["--algorithm", algorithm, "--out"])
        .arg(dir.join(format!("{selector}.key")))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = text.lines();
    let name = lines
        .find_map(|l| l.strip_prefix("Publish this TXT record at "))
        .and_then(|l| l.strip_suffix(':'))
        .unwrap_or_else(|| panic!("no record name in:\n{text}"))
        .to_owned();
    let record = lines.next().unwrap().trim().to_owned();
    assert!(record.starts_with("v=DKIM1; "), "{text}");
    (name, record)
}
