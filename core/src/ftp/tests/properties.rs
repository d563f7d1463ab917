//! Properties of the FTP machine, checked with proptest.

use super::harness::Harness;
use crate::ftp::{Input, TransferAction};
use crate::limits::{INPUT_BUFFER_BYTES_MAX, READ_CHUNK_BYTES};
use proptest::prelude::*;

/// A pipelined session that touches most commands.
const SESSION: &[u8] = b"FEAT\r\nUSER alice@example.test\r\nPASS correct horse\r\nSYST\r\nPWD\r\n\
TYPE I\r\nEPSV\r\nLIST -la\r\nCWD docs\r\nPASV\r\nRETR a.txt\r\nREST 3\r\nEPSV\r\nRETR a.txt\r\n\
CDUP\r\nMKD new\r\nSIZE hello.txt\r\nMDTM hello.txt\r\nMLST docs\r\nCWD ../..\r\nFROB\r\n\
PORT 10,0,0,1,0,25\r\nRNFR hello.txt\r\nRNTO new/hi.txt\r\nEPSV\r\nMLSD new\r\nDELE new/hi.txt\r\n\
RMD new\r\nNOOP\r\nQUIT\r\n";

fn run_split(input: &[u8], cuts: &[usize]) -> Harness {
    let mut harness = Harness::new();
    let mut start = 0;
    for &cut in cuts {
        harness.feed(&input[start..cut]);
        start = cut;
    }
    harness.feed(&input[start..]);
    harness
}

proptest! {
    #[test]
    fn any_split_of_the_input_gives_the_same_session(
        mut cuts in proptest::collection::vec(0..SESSION.len(), 0..40),
    ) {
        cuts.sort_unstable();
        let whole = run_split(SESSION, &[]);
        let split = run_split(SESSION, &cuts);
        prop_assert_eq!(&split.server_bytes, &whole.server_bytes);
        prop_assert_eq!(&split.downloaded, &whole.downloaded);
        prop_assert_eq!(&split.home, &whole.home);
        prop_assert!(split.closed && whole.closed);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overflow_the_buffer(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..READ_CHUNK_BYTES), 0..8),
    ) {
        let mut harness = Harness::new();
        harness.login();
        for chunk in &chunks {
            if harness.closed {
                break;
            }
            harness.feed(chunk);
            prop_assert!(harness.server.buffered_input_len() <= INPUT_BUFFER_BYTES_MAX);
        }
        if !harness.closed {
            harness.server.handle_input(crate::time::Instant::from_nanos(1_000_000_000), Input::EndOfInput);
            harness.drain();
        }
        prop_assert!(harness.closed);
    }

    /// Whatever commands come, uploads never pass the quota and every
    /// active data connection goes to the client's own address.
    #[test]
    fn arbitrary_commands_keep_the_quota_and_the_bounce_rule(
        lines in proptest::collection::vec(
            "(STOR|APPE|RETR|LIST|PASV|EPSV|PORT|EPRT|REST|CWD|MKD|DELE|RNFR|RNTO|ABOR)( [0-9a-z.,/|]{0,16})?",
            0..30,
        ),
        upload in 0usize..1200,
    ) {
        let mut harness = Harness::new();
        harness.login();
        for line in &lines {
            if harness.closed {
                break;
            }
            harness.upload = vec![b'u'; upload];
            harness.send_line(line);
            prop_assert!(harness.home.usage() <= super::harness::config().quota.max(super::harness::home().usage()));
        }
        for transfer in &harness.transfers {
            if let crate::ftp::DataChannel::Active(target) = transfer.channel {
                prop_assert_eq!(target.ip(), "127.0.0.9".parse::<std::net::IpAddr>().unwrap());
                prop_assert!(target.port() >= 1024);
            }
            if let TransferAction::Store { limit, .. } = transfer.action {
                prop_assert!(limit <= super::harness::config().quota);
            }
        }
    }
}
