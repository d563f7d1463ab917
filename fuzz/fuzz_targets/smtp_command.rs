//! The SMTP command parser on arbitrary lines.
//!
//! Input: byte 0 says whether EHLO was given (bit 1); the rest is one
//! command line without its line ending. Asserted, besides "never
//! panics": a refusal is a well-formed 4xx/5xx reply that the client's
//! reply parser reads back; a parsed path prints as text that parses to
//! the same path (render then parse is the identity); a HELO/EHLO domain
//! is one word without control characters.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::address::{parse_forward_path, parse_reverse_path};
use postern_core::limits::COMMAND_LINE_BYTES_MAX;
use postern_core::smtp::client::ReplyParser;
use postern_core::smtp::server::{Command, ParseContext, parse_command};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, line)) = data.split_first() else {
        return;
    };
    // The machine hands the parser one line without its LF; a CR may
    // remain inside it.
    if line.contains(&b'\n') {
        return;
    }
    let context = ParseContext {
        extended: flags & 1 != 0,
    };
    match parse_command(line, context) {
        Ok(command) => check_command(&command, context),
        Err(reply) => {
            assert!(
                (400..600).contains(&reply.code),
                "a refusal with {}",
                reply.code
            );
            // The machine never hands in a longer line; a longer one may
            // echo into a reply over the client's line bound.
            if line.len() > COMMAND_LINE_BYTES_MAX {
                return;
            }
            let mut bytes = Vec::new();
            reply.render(&mut bytes);
            let mut parser = ReplyParser::default();
            parser.push(&bytes);
            let parsed = parser
                .next_reply()
                .expect("a refusal the client cannot read")
                .expect("a refusal that is not a whole reply");
            assert_eq!(parsed.code, reply.code);
            assert_eq!(parser.next_reply(), Ok(None), "a refusal of two replies");
            for text in &parsed.lines {
                assert!(
                    !text.chars().any(char::is_control),
                    "a control character from the client echoed in {text:?}"
                );
            }
        }
    }
});

fn check_command(command: &Command, context: ParseContext) {
    match command {
        Command::Ehlo(domain) | Command::Helo(domain) => {
            assert!(!domain.is_empty());
            assert!(
                !domain.chars().any(|c| c == ' ' || c.is_control()),
                "a HELO domain of more than one printable word: {domain:?}"
            );
        }
        Command::Mail(mail) => {
            if !context.extended {
                assert!(
                    mail.size.is_none() && !mail.smtputf8,
                    "parameters without EHLO"
                );
            }
            let text = mail.reverse_path.to_string();
            assert_eq!(
                parse_reverse_path(&text, mail.smtputf8).as_ref(),
                Ok(&mail.reverse_path),
                "the reverse path {text:?} does not parse back"
            );
        }
        Command::Rcpt(forward_path) => {
            let text = forward_path.to_string();
            assert_eq!(
                parse_forward_path(&text, true).as_ref(),
                Ok(forward_path),
                "the forward path {text:?} does not parse back"
            );
        }
        Command::Auth {
            mechanism,
            initial_response,
        } => {
            assert!(!mechanism.is_empty());
            assert!(!mechanism.chars().any(char::is_whitespace));
            if let Some(response) = initial_response {
                assert!(!response.is_empty() && !response.chars().any(char::is_whitespace));
            }
        }
        _ => {}
    }
}
