//! The `postern-sim` binary as a person runs it.

use std::path::Path;
use std::process::Command;

/// `postern-sim run` starts with what ran: the scenario's name and file,
/// its description, and the seed with the command that replays it.
#[test]
fn run_output_starts_with_the_scenario_its_description_and_the_seed() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/submission-auth.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_postern-sim"))
        .args(["run", "--seed", "7"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let source = std::fs::read_to_string(&file).unwrap();
    let description_first_line = source
        .split("description = \"\"\"\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap();
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("scenario: submission-auth ({})", file.display()).as_str())
    );
    assert_eq!(
        lines.next(),
        Some(format!("  {description_first_line}").as_str())
    );
    let seed = lines.find(|line| line.starts_with("seed: ")).unwrap();
    assert_eq!(
        seed,
        format!(
            "seed: 7 (faults at their written times); replay: postern-sim run {} --seed 7",
            file.display()
        )
    );
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("submission-auth: PASS (")
    );
}
