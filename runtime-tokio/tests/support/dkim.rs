//! DKIM keys for the tests, made the way an operator makes them; their
//! records served by dnsmasq, and header fields read back from a copy.

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

/// A dnsmasq option serving `text` at `name`, in strings of at most 255
/// octets (RFC 1035), as a 2048-bit key needs: dnsmasq starts a string at
/// each comma (the records the tests serve have none of their own).
pub fn txt(name: &str, text: &str) -> String {
    let strings: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!("--txt-record={name},{}", strings.join(","))
}

/// The first header field of `copy` named `name`, unfolded.
pub fn field(copy: &str, name: &str) -> String {
    let start = copy
        .find(&format!("\n{name}: "))
        .map(|i| i + 1)
        .or_else(|| copy.starts_with(&format!("{name}: ")).then_some(0))
        .unwrap_or_else(|| panic!("no {name} in:\n{copy}"));
    let mut text = String::new();
    for (i, line) in copy[start..].lines().enumerate() {
        if i > 0 && !line.starts_with([' ', '\t']) {
            break;
        }
        text.push_str(line.trim());
        text.push(' ');
    }
    text.trim().to_owned()
}
