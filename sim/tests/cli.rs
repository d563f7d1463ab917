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

/// `postern-sim run ... | head`: a reader that stops early ends the run
/// quietly (SIGPIPE), never with a panic.
#[test]
fn a_reader_that_goes_away_ends_the_run_without_a_panic() {
    use std::process::Stdio;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/submission-auth.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_postern-sim"))
        .arg("run")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `head -n 0`: the pipe's reader is gone before the first line.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!output.status.success());
}
