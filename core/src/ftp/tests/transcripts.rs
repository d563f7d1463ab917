//! Whole sessions, snapshot-tested as transcripts.

use super::harness::{Harness, config};
use crate::auth::AuthPolicy;
use crate::ftp::SessionConfig;
use std::time::Duration;

fn tls_only() -> SessionConfig {
    SessionConfig {
        auth: AuthPolicy {
            offered: true,
            without_tls: false,
            failure_delay: Duration::from_secs(2),
            ..AuthPolicy::default()
        },
        ..config()
    }
}

#[test]
fn good_session_lists_downloads_uploads_and_changes_files() {
    let mut harness = Harness::new();
    harness.send_line("FEAT");
    harness.login();
    for line in [
        "SYST",
        "PWD",
        "TYPE I",
        "EPSV",
        "LIST",
        "CWD docs",
        "PWD",
        "PASV",
        "RETR a.txt",
        "CDUP",
        "MKD new",
        "EPSV",
        "NLST",
        "EPSV",
        "MLSD docs",
    ] {
        harness.send_line(line);
    }
    harness.upload = b"uploaded bytes".to_vec();
    for line in [
        "EPSV",
        "STOR new/up.txt",
        "SIZE new/up.txt",
        "MDTM /new/up.txt",
        "MLST new/up.txt",
        "RNFR new/up.txt",
        "RNTO new/moved.txt",
        "DELE new/moved.txt",
        "RMD new",
        "QUIT",
    ] {
        harness.send_line(line);
    }
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn tls_session_refuses_clear_logins_and_unprotected_data() {
    let mut harness = Harness::with_config(tls_only(), false);
    harness.send_line("FEAT");
    harness.send_line("USER alice@example.test");
    harness.send_line("PBSZ 0");
    // Bytes pipelined after AUTH TLS are thrown away, never acted on.
    harness.send(b"AUTH TLS\r\nUSER injected\r\n");
    harness.login();
    harness.send_line("EPSV");
    harness.send_line("RETR hello.txt");
    harness.send_line("PROT P");
    harness.send_line("PBSZ 0");
    harness.send_line("PROT C");
    harness.send_line("PROT P");
    harness.send_line("RETR hello.txt");
    harness.send_line("QUIT");
    assert!(harness.transfers.iter().all(|t| t.protected));
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn escapes_and_the_bounce_attack_are_refused() {
    let patient = SessionConfig {
        max_errors: 50,
        ..config()
    };
    let mut harness = Harness::with_config(patient, false);
    harness.login();
    for line in [
        "CWD ..",
        "CWD docs",
        "RETR ../../etc/passwd",
        "SIZE /../hello.txt",
        "CWD /",
        "PORT 10,0,0,1,0,25",
        "PORT 127,0,0,9,0,25",
        "EPRT |1|127.0.0.8|40001|",
        "EPRT |2|::1|40001|",
        "PORT 127,0,0,9,156,65",
        "RETR /etc/passwd",
        "LIST",
        "DELE ../x",
        "RNFR /",
        "RNTO /x",
        "RMD /",
        "QUIT",
    ] {
        harness.send_line(line);
    }
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn uploads_past_the_quota_get_552() {
    let mut harness = Harness::new();
    harness.login();
    harness.upload = vec![b'x'; 2000];
    harness.send_line("PASV");
    harness.send_line("STOR big.bin");
    harness.upload = vec![b'y'; 900];
    harness.send_line("PASV");
    harness.send_line("STOR fits.bin");
    harness.upload = vec![b'z'; 76];
    harness.send_line("PASV");
    harness.send_line("APPE fits.bin");
    harness.upload = vec![b'z'; 75];
    harness.send_line("PASV");
    harness.send_line("APPE fits.bin");
    // The home is full now: refused before any data connection.
    harness.send_line("PASV");
    harness.send_line("STOR more.bin");
    harness.send_line("QUIT");
    assert_eq!(harness.home.usage(), 1000);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn abor_stops_a_transfer_with_426_then_226() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.hold_transfer = true;
    harness.send_line("RETR hello.txt");
    // A command sent during the transfer waits for it; ABOR does not.
    harness.send(b"PWD\r\n\xff\xf4\xff\xf2ABOR\r\n");
    harness.send_line("ABOR");
    harness.send_line("QUIT");
    assert_eq!(harness.aborts, 1);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn failed_logins_wait_and_the_third_closes() {
    let mut harness = Harness::new();
    harness.send_line("PWD");
    harness.send_line("PASS x");
    for password in ["wrong", "again", "still"] {
        harness.send_line("USER alice@example.test");
        harness.send_line(&format!("PASS {password}"));
        harness.advance(Duration::from_secs(2));
    }
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}

#[test]
fn idle_session_times_out_with_421() {
    let mut harness = Harness::new();
    harness.login();
    harness.advance(Duration::from_secs(299));
    harness.send_line("NOOP");
    harness.advance(Duration::from_secs(300));
    assert!(harness.closed);
    insta::assert_snapshot!(harness.transcript);
}
