//! Single behaviours of the FTP machine, asserted.

use super::harness::{Harness, config};
use crate::ftp::{DataChannel, FtpPath, TransferAction, TransferFailure};
use crate::limits::FTP_COMMAND_LINE_BYTES_MAX;
use std::time::Duration;

fn path(text: &str) -> FtpPath {
    crate::ftp::path::resolve(&FtpPath::root(), text).unwrap()
}

#[test]
fn commands_before_login_get_530() {
    let mut harness = Harness::new();
    for line in [
        "PWD",
        "LIST",
        "RETR hello.txt",
        "PASV",
        "CWD docs",
        "STOR x",
    ] {
        harness.send_line(line);
        assert!(
            harness.last_reply().starts_with("530 "),
            "{line}: {}",
            harness.last_reply()
        );
    }
    assert!(harness.transfers.is_empty());
}

#[test]
fn rest_makes_retr_start_at_the_offset_once() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("REST 7");
    assert_eq!(harness.last_reply(), "350 Restart position accepted (7)");
    harness.send_line("PASV");
    harness.send_line("RETR hello.txt");
    assert_eq!(harness.downloaded, b"world!\r\n");
    harness.send_line("PASV");
    harness.send_line("RETR hello.txt");
    assert_eq!(harness.downloaded, b"world!\r\nHello, world!\r\n");
    harness.send_line("REST 99");
    harness.send_line("PASV");
    harness.send_line("RETR hello.txt");
    assert!(
        harness.last_reply().starts_with("554 "),
        "{}",
        harness.last_reply()
    );
}

#[test]
fn rest_then_stor_overwrites_from_the_offset() {
    let mut harness = Harness::new();
    harness.login();
    harness.upload = b"there\r\n".to_vec();
    harness.send_line("REST 7");
    harness.send_line("EPSV");
    harness.send_line("STOR hello.txt");
    assert_eq!(
        harness.home.file(&path("hello.txt")),
        Some(&b"Hello, there\r\n"[..])
    );
}

#[test]
fn transfers_need_a_data_channel_each() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("RETR hello.txt");
    assert!(harness.last_reply().starts_with("425 "));
    harness.send_line("PORT 127,0,0,9,156,65");
    harness.send_line("RETR hello.txt");
    assert_eq!(harness.last_reply(), "226 Transfer complete");
    assert_eq!(
        harness.transfers[0].channel,
        DataChannel::Active("127.0.0.9:40001".parse().unwrap())
    );
    harness.send_line("RETR hello.txt");
    assert!(harness.last_reply().starts_with("425 "));
}

#[test]
fn bounce_targets_never_reach_the_driver() {
    let mut harness = Harness::new();
    harness.login();
    for line in [
        "PORT 192,0,2,1,31,144",
        "PORT 127,0,0,9,0,21",
        "EPRT |1|127.0.0.1|8080|",
    ] {
        harness.send_line(line);
        assert!(
            harness.last_reply().starts_with("500 Illegal PORT"),
            "{line}"
        );
        harness.send_line("LIST");
        assert!(harness.last_reply().starts_with("425 "), "{line}");
    }
    assert!(harness.transfers.is_empty());
}

#[test]
fn escapes_never_reach_the_driver_as_requests() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("CWD docs");
    for line in [
        "RETR ../../x",
        "CWD ../..",
        "MKD ../../x",
        "DELE ../../../etc/passwd",
    ] {
        harness.send_line(line);
        assert!(
            harness.last_reply().starts_with("550 Permission denied"),
            "{line}"
        );
    }
    harness.send_line("PWD");
    assert_eq!(
        harness.last_reply(),
        "257 \"/docs\" is the current directory"
    );
}

#[test]
fn a_command_sent_during_a_transfer_waits_for_it() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.hold_transfer = true;
    harness.send_line("RETR hello.txt");
    harness.send_line("NOOP");
    assert!(harness.last_reply().starts_with("150 "));
    harness.finish_transfer(Ok(15));
    let text = String::from_utf8_lossy(&harness.server_bytes).into_owned();
    assert!(
        text.ends_with("226 Transfer complete\r\n200 NOOP ok\r\n"),
        "{text}"
    );
}

#[test]
fn a_lost_data_connection_is_426_and_the_session_goes_on() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("EPSV");
    harness.hold_transfer = true;
    harness.send_line("RETR hello.txt");
    harness.finish_transfer(Err(TransferFailure::ConnectionLost));
    assert!(harness.last_reply().starts_with("426 "));
    harness.send_line("NOOP");
    assert_eq!(harness.last_reply(), "200 NOOP ok");
}

#[test]
fn over_long_lines_are_refused_once_and_the_session_goes_on() {
    let mut harness = Harness::new();
    let long = format!("CWD {}\r\n", "a".repeat(FTP_COMMAND_LINE_BYTES_MAX));
    harness.feed(long.as_bytes());
    harness.send_line("NOOP");
    let text = String::from_utf8_lossy(&harness.server_bytes).into_owned();
    assert_eq!(
        text.matches("500 Command line too long").count(),
        1,
        "{text}"
    );
    assert_eq!(harness.last_reply(), "200 NOOP ok");
}

#[test]
fn epsv_all_refuses_port_and_pasv() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("EPSV ALL");
    harness.send_line("PASV");
    assert!(harness.last_reply().starts_with("503 "));
    harness.send_line("PORT 127,0,0,9,156,65");
    assert!(harness.last_reply().starts_with("503 "));
    harness.send_line("EPSV");
    assert!(harness.last_reply().starts_with("229 "));
}

#[test]
fn a_failed_passive_port_is_425() {
    let mut harness = Harness::new();
    harness.login();
    harness.passive_fails = true;
    harness.send_line("PASV");
    assert!(harness.last_reply().starts_with("425 "));
}

#[test]
fn shutdown_during_a_transfer_aborts_it_and_says_421() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.hold_transfer = true;
    harness.send_line("STOR x");
    harness.shut_down();
    assert_eq!(harness.aborts, 1);
    assert!(harness.closed);
    assert!(harness.last_reply().starts_with("421 "));
}

#[test]
fn the_quota_limit_is_what_is_left() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.send_line("STOR n.txt");
    let used = super::harness::home().usage();
    match &harness.transfers[0].action {
        TransferAction::Store { limit, .. } => assert_eq!(*limit, config().quota - used),
        other => panic!("{other:?}"),
    }
}

#[test]
fn session_lifetime_ends_even_mid_transfer() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.hold_transfer = true;
    harness.send_line("RETR hello.txt");
    harness.advance(Duration::from_secs(3600));
    assert!(harness.closed);
    assert_eq!(harness.aborts, 1);
}

#[test]
fn a_client_that_hangs_up_mid_transfer_is_closed_after_it() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.hold_transfer = true;
    harness.send_line("RETR hello.txt");
    harness.hang_up();
    assert!(!harness.closed, "the transfer's answer is still owed");
    harness.finish_transfer(Ok(15));
    assert!(harness.closed);
}

#[test]
fn stor_onto_a_directory_is_refused_before_any_data_connection() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.send_line("STOR docs");
    assert_eq!(harness.last_reply(), "550 Is a directory");
    assert!(harness.transfers.is_empty());
    let text = String::from_utf8_lossy(&harness.server_bytes).into_owned();
    assert!(!text.contains("150 "), "{text}");
}

#[test]
fn stor_into_a_missing_directory_is_refused_before_any_data_connection() {
    let mut harness = Harness::new();
    harness.login();
    harness.send_line("PASV");
    harness.send_line("STOR nowhere/x.txt");
    assert_eq!(harness.last_reply(), "550 No such file or directory");
    harness.send_line("STOR hello.txt/x.txt");
    assert_eq!(harness.last_reply(), "550 Not a directory");
    assert!(harness.transfers.is_empty());
    harness.send_line("STOR docs/new.txt");
    assert_eq!(harness.last_reply(), "226 Transfer complete");
}
