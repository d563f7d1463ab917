//! `check-config`, `run`, `user add` and `explain` catch configuration
//! mistakes before mail waits on them: the smarthost's settings shown and
//! its port checked against its TLS, the files a configuration names read
//! (each error at its line), typos answered with a "did you mean", and
//! start-up errors printed once.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use support::{free_port, postern};

const SERVICE: &str = r#"[server]
data_dir = "data"

[[service]]
name = "mx"
kind = "smtp"
listen = "127.0.0.1:PORT"
"#;

const DOMAIN: &str = "\n[[domain]]\nname = \"example.test\"\nusers = [\"alice\"]\n";

/// Writes `text` as postern.toml in `dir` (with a free port for PORT).
fn write(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("postern.toml");
    std::fs::write(&file, text.replace("PORT", &free_port().to_string())).unwrap();
    file
}

fn check(file: &Path) -> Output {
    postern().arg("check-config").arg(file).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn certificate(dir: &Path, cert: &str, key: &str) {
    let made = postern()
        .current_dir(dir)
        .args(["cert", "self-signed", "--host", "relay.test"])
        .args(["--cert", cert, "--key", key])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
}

#[test]
fn check_config_shows_the_smarthost_and_warns_on_465_without_implicit_tls() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path(), "ca.pem", "ca-key.pem");
    let file = write(
        dir.path(),
        &format!(
            "{SERVICE}{DOMAIN}\n[outbound]\nmax_connections = 4\n\n[outbound.smarthost]\nhost = \"relay.test:465\"\nmode = \"fallback\"\ntls = \"required\"\nuser = \"me\"\npassword = \"secret\"\nca_file = \"ca.pem\"\n"
        ),
    );
    let output = check(&file);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "a warning is not an error: {output:?}"
    );
    for expected in [
        "outbound  MX port 25, 4 connections at once (2 per destination)",
        "smarthost relay.test:465 (fallback), tls = \"required\": required STARTTLS, certificate verified",
        "logs in as me",
        &format!(
            "warning: {}:17:8: `smarthost.host`: port 465 is conventionally smtps",
            file.display()
        ),
        "help: set tls = \"implicit\" for this smarthost",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("secret"), "the password is not shown");
    // With tls = "implicit", no warning, and port 465 by default.
    let implicit = write(
        dir.path(),
        &format!(
            "{SERVICE}{DOMAIN}\n[outbound.smarthost]\nhost = \"relay.test\"\nmode = \"exclusive\"\ntls = \"implicit\"\nca_file = \"ca.pem\"\n"
        ),
    );
    let stdout = text(&check(&implicit).stdout);
    assert!(
        stdout.contains("smarthost relay.test:465 (exclusive), tls = \"implicit\""),
        "{stdout}"
    );
    assert!(!stdout.contains("warning"), "{stdout}");
}

#[test]
fn a_ca_file_that_is_missing_or_not_pem_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a certificate\n").unwrap();
    for (ca_file, why) in [
        ("notes.txt", "no certificate found"),
        ("absent.pem", "No such file or directory"),
    ] {
        let file = write(
            dir.path(),
            &format!(
                "{SERVICE}{DOMAIN}\n[outbound.smarthost]\nhost = \"relay.test:587\"\nmode = \"exclusive\"\nca_file = \"{ca_file}\"\n"
            ),
        );
        let output = check(&file);
        let stderr = text(&output.stderr);
        assert!(!output.status.success());
        let at = format!("{}:16:11: `ca_file`: ", file.display());
        assert!(stderr.contains(&at), "{at:?} in:\n{stderr}");
        assert!(stderr.contains(ca_file) && stderr.contains(why), "{stderr}");
        assert!(stderr.contains("1 error in"), "{stderr}");
    }
}

#[test]
fn a_certificate_and_a_key_that_do_not_match_name_both_files_and_run_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path(), "a.pem", "a-key.pem");
    certificate(dir.path(), "b.pem", "b-key.pem");
    let file = write(
        dir.path(),
        &format!(
            "{SERVICE}tls = \"starttls\"\ntls_certificate = \"a.pem\"\ntls_key = \"b-key.pem\"\n{DOMAIN}"
        ),
    );
    let stderr = text(&check(&file).stderr);
    for expected in [
        &format!("{}:9:19: `tls_certificate`: instance mx: ", file.display()),
        "a.pem and ",
        "b-key.pem cannot be used together: the key is not the private key of the certificate",
        "help: tls_certificate (line 9) and tls_key (line 10) must name a certificate and its own key",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in:\n{stderr}");
    }
    let run = support::run_expecting_failure(&file);
    assert_eq!(
        run.matches("cannot be used together").count(),
        1,
        "once:\n{run}"
    );
}

#[test]
fn run_prints_a_start_up_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let file = write(
        dir.path(),
        &format!("{SERVICE}{DOMAIN}")
            .replace("127.0.0.1:PORT", &taken.local_addr().unwrap().to_string()),
    );
    let run = support::run_expecting_failure(&file);
    assert_eq!(run.matches("cannot listen on").count(), 1, "once:\n{run}");
}

#[test]
fn typos_get_a_did_you_mean_and_domain_mistakes_are_errors_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write(dir.path(), &format!("{SERVICE}max_size = 1000\n{DOMAIN}"));
    let stderr = text(&check(&typo).stderr);
    assert!(
        stderr.contains("help: did you mean `max_message_size`?"),
        "{stderr}"
    );
    let twice = write(
        dir.path(),
        &format!(
            "{SERVICE}{DOMAIN}\n[[domain]]\nname = \"Example.TEST\"\nusers = [\"bob\", \"Bob\"]\n"
        ),
    );
    let stderr = text(&check(&twice).stderr);
    let name = twice.display();
    for expected in [
        format!("{name}:15:17: `users`: user \"bob\" is listed twice in domain example.test"),
        format!(
            "{name}:14:8: `domain.name`: domain \"example.test\" is declared twice: here and on line 10"
        ),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in:\n{stderr}");
    }
    let none = write(dir.path(), SERVICE);
    let stderr = text(&check(&none).stderr);
    assert!(
        stderr.contains("`domain`: no [[domain]] is defined"),
        "{stderr}"
    );
}

#[test]
fn user_add_refuses_an_address_outside_the_configured_domains() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        &format!("{SERVICE}{DOMAIN}\n[[domain]]\nname = \"example.org\"\n"),
    );
    // The server has run: its data directory exists.
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let added = postern()
        .args(["user", "add", "alice@example.com", "--config"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!added.status.success());
    let stderr = text(&added.stderr);
    assert!(
        stderr.contains("example.com is not a domain this server delivers for (configured: example.test, example.org)"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data/accounts.toml").exists(),
        "nothing written"
    );
}

#[test]
fn explain_on_a_submission_instance_says_a_client_not_logged_in_gets_530() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path(), "cert.pem", "key.pem");
    let port = free_port();
    let file = write(
        dir.path(),
        &format!(
            "[server]\ndata_dir = \"data\"\n\n[[service]]\nname = \"submission\"\nkind = \"submission\"\nlisten = \"127.0.0.1:{port}\"\ntls = \"starttls\"\ntls_certificate = \"cert.pem\"\ntls_key = \"key.pem\"\n{DOMAIN}"
        ),
    );
    let output = postern()
        .args(["explain", "--config"])
        .arg(&file)
        .args([
            "--local",
            &format!("127.0.0.1:{port}"),
            "--remote",
            "127.0.0.9",
        ])
        .args(["--to", "friend@far.test"])
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains("a client that has not logged in gets 530 5.7.0 Authentication required"),
        "{stdout}"
    );
}
