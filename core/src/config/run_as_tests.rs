//! `[server] user`, `group`, `run_as_root` and `log_file`.

use super::*;

const SERVICE: &str = r#"
[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:2525"

[[domain]]
name = "example.test"
"#;

fn server(keys: &str) -> Result<Config, String> {
    let source = format!("[server]\n{keys}\n{SERVICE}");
    parse(&source).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.render("postern.toml", &source))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[test]
fn user_and_group_are_read_with_their_lines() {
    let config = server(
        "hostname = \"mx.test\"\nuser = \"postern\"\ngroup = \"mail\"\nlog_file = \"p.log\"",
    )
    .unwrap();
    let run_as = &config.server.run_as;
    let user = run_as.user.as_ref().unwrap();
    assert_eq!((user.name.as_str(), user.position), ("postern", (3, 8)));
    let group = run_as.group.as_ref().unwrap();
    assert_eq!((group.name.as_str(), group.position), ("mail", (4, 9)));
    assert!(!run_as.as_root);
    assert_eq!(config.server.log_file, Some(PathBuf::from("p.log")));
}

#[test]
fn nothing_set_means_no_user_no_root_no_log_file() {
    let config = server("").unwrap();
    assert_eq!(config.server.run_as, RunAs::default());
    assert_eq!(config.server.log_file, None);
}

#[test]
fn started_as_root_without_user_is_refused_naming_both_keys() {
    let run_as = server("").unwrap().server.run_as;
    let error = run_as.decide(true).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("server.user"));
    let help = error.help.unwrap();
    assert!(help.contains("user = \"postern\""), "{help}");
    assert!(help.contains("run_as_root = true"), "{help}");
    assert!(help.contains("CAP_NET_BIND_SERVICE"), "{help}");
    assert_eq!(run_as.decide(false), Ok(Privileges::Unprivileged));
}

#[test]
fn run_as_root_keeps_root_only_when_started_as_root() {
    let run_as = server("run_as_root = true").unwrap().server.run_as;
    assert_eq!(run_as.decide(true), Ok(Privileges::KeepRoot));
    assert_eq!(run_as.decide(false), Ok(Privileges::Unprivileged));
    let run_as = server("run_as_root = false").unwrap().server.run_as;
    assert!(run_as.decide(true).is_err());
}

#[test]
fn a_user_is_dropped_to_whoever_starts_the_server() {
    let run_as = server("user = \"postern\"").unwrap().server.run_as;
    for root in [true, false] {
        let Ok(Privileges::Drop { user, group }) = run_as.decide(root) else {
            panic!("expected a drop");
        };
        assert_eq!((user.name.as_str(), group), ("postern", None));
    }
}

#[test]
fn contradictions_and_bad_names_are_errors_at_their_lines() {
    let rows: &[(&str, &str)] = &[
        (
            "group = \"mail\"",
            "postern.toml:2:9: `server.group`: group is set without user",
        ),
        (
            "user = \"root\"",
            "postern.toml:2:8: `server.user`: user = \"root\" is no drop of privileges",
        ),
        (
            "user = \"postern\"\nrun_as_root = true",
            "postern.toml:3:15: `server.run_as_root`: run_as_root = true and user contradict",
        ),
        (
            "user = \"post ern\"",
            "postern.toml:2:8: `server.user`: \"post ern\" is not a user or group name",
        ),
        (
            "user = \"-x\"",
            "`server.user`: \"-x\" is not a user or group name",
        ),
        (
            "group = \"\"\nuser = \"a\"",
            "`server.group`: an empty name",
        ),
        (
            "user = \"abcdefghijabcdefghijabcdefghijabc\"",
            "is longer than 32 octets",
        ),
        (
            "run_as_root = \"yes\"",
            "postern.toml:2:15: `run_as_root`: invalid type",
        ),
    ];
    for (keys, expected) in rows {
        let text = server(keys).unwrap_err();
        assert!(text.contains(expected), "{keys}:\n{text}");
    }
}
