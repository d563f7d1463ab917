//! Tests of the remote-log machine: the command and filter codec (table
//! tests), the client buffer, whole sessions (transcripts) and properties
//! (proptest).

mod harness;
mod properties;
mod transcripts;

use super::{
    ClientBuffer, Command, FeedEntry, Filter, FilterError, Level, ParseError, parse_command,
    parse_filter,
};
use harness::record;

#[test]
fn commands_parse_in_any_case_with_their_arguments() {
    let filter = |f: Filter| Ok(Command::Filter(f));
    let table: &[(&[u8], Result<Command, ParseError>)] = &[
        (b"CAPA", Ok(Command::Capa)),
        (b"noop", Ok(Command::Noop)),
        (b"  Quit ", Ok(Command::Quit)),
        (b"STARTTLS", Ok(Command::StartTls)),
        (b"follow", Ok(Command::Follow)),
        (b"STOP", Ok(Command::Stop)),
        (b"TAIL 20", Ok(Command::Tail(20))),
        (b"TAIL 0", Ok(Command::Tail(0))),
        (b"TAIL 10000", Ok(Command::Tail(10_000))),
        (
            b"TAIL 10001",
            Err(ParseError::BadArguments(
                "use TAIL n, with n from 0 to 10000",
            )),
        ),
        (
            b"TAIL -1",
            Err(ParseError::BadArguments(
                "use TAIL n, with n from 0 to 10000",
            )),
        ),
        (
            b"TAIL",
            Err(ParseError::BadArguments(
                "use TAIL n, with n from 0 to 10000",
            )),
        ),
        (
            b"AUTH PLAIN AGFi",
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGFi".into()),
            }),
        ),
        (
            b"auth plain",
            Ok(Command::Auth {
                mechanism: "plain".into(),
                initial: None,
            }),
        ),
        (
            b"AUTH",
            Err(ParseError::BadArguments(
                "use AUTH PLAIN, with or without the base64 response",
            )),
        ),
        (b"FILTER", filter(Filter::default())),
        (
            b"filter level=warn instance=smtp-in",
            filter(Filter {
                level: Some(Level::Warn),
                instance: Some("smtp-in".into()),
                ..Filter::default()
            }),
        ),
        (
            b"FILTER queue=0A1B text=Message Accepted",
            filter(Filter {
                queue_id: Some("0A1B".into()),
                text: Some("message accepted".into()),
                ..Filter::default()
            }),
        ),
        (
            b"FILTER colour=red",
            Err(ParseError::BadFilter(FilterError::UnknownKey(
                "colour".into(),
            ))),
        ),
        (
            b"NOOP now",
            Err(ParseError::BadArguments("this command takes no arguments")),
        ),
        (
            b"FILTER\ttext=x\tstop",
            filter(Filter {
                text: Some("x stop".into()),
                ..Filter::default()
            }),
        ),
        (b"", Err(ParseError::Empty)),
        (b"HELO", Err(ParseError::UnknownCommand)),
        (b"NOOP\x1b", Err(ParseError::BadCharacters)),
        (b"\xff", Err(ParseError::BadCharacters)),
    ];
    for (line, expected) in table {
        assert_eq!(
            &parse_command(line),
            expected,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn filters_parse_and_refuse_what_they_do_not_know() {
    let table: &[(&str, Result<Filter, FilterError>)] = &[
        ("", Ok(Filter::default())),
        (
            "level=ERROR",
            Ok(Filter {
                level: Some(Level::Error),
                ..Filter::default()
            }),
        ),
        (
            "level=warning",
            Ok(Filter {
                level: Some(Level::Warn),
                ..Filter::default()
            }),
        ),
        ("level=loud", Err(FilterError::BadLevel("loud".into()))),
        ("level=", Err(FilterError::MissingValue("level"))),
        ("instance=", Err(FilterError::MissingValue("instance"))),
        ("text=   ", Err(FilterError::MissingValue("text"))),
        ("mx", Err(FilterError::UnknownKey("mx".into()))),
        ("texé=1", Err(FilterError::UnknownKey("texé".into()))),
        ("té", Err(FilterError::UnknownKey("té".into()))),
        (
            "instance=a instance=b",
            Err(FilterError::Repeated("instance")),
        ),
        (
            "TEXT=level=warn stays text",
            Ok(Filter {
                text: Some("level=warn stays text".into()),
                ..Filter::default()
            }),
        ),
    ];
    for (arguments, expected) in table {
        assert_eq!(&parse_filter(arguments), expected, "{arguments:?}");
    }
}

#[test]
fn a_filter_matches_level_and_worse_instance_queue_and_text() {
    let info = record(
        1,
        Level::Info,
        "mx",
        Some("0A1B"),
        "session=1 Message accepted",
    );
    let debug = record(2, Level::Debug, "pop", None, "session=2 CAPA");
    let error = record(3, Level::Error, "", None, "cannot open the spool");
    let rows: &[(&str, [bool; 3])] = &[
        ("", [true, true, true]),
        ("level=info", [true, false, true]),
        ("level=error", [false, false, true]),
        ("level=trace", [true, true, true]),
        ("instance=MX", [true, false, false]),
        ("queue=0a1b", [true, false, false]),
        ("text=MESSAGE ACC", [true, false, false]),
        ("text=spool", [false, false, true]),
        ("level=debug instance=pop", [false, true, false]),
    ];
    for (arguments, expected) in rows {
        let filter = parse_filter(arguments).unwrap();
        let got = [
            filter.matches(&info),
            filter.matches(&debug),
            filter.matches(&error),
        ];
        assert_eq!(&got, expected, "{arguments:?}");
    }
}

#[test]
fn a_record_renders_as_one_clean_line_with_its_fields() {
    let mut out = Vec::new();
    record(
        4,
        Level::Warn,
        "pop 3",
        None,
        "login failed\r\nforged 2026 INFO",
    )
    .render(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "* 2026-11-30T08:00:04.000Z WARN pop_3 - login failed\\r\\nforged 2026 INFO\r\n"
    );
    let mut long = Vec::new();
    record(5, Level::Info, "mx", Some("Q"), &"é".repeat(5000)).render(&mut long);
    let text = String::from_utf8(long).unwrap();
    assert!(text.ends_with("...\r\n"));
    assert!(text.len() <= crate::limits::REMOTE_LOG_LINE_BYTES_MAX + 2);
}

#[test]
fn a_full_buffer_counts_drops_in_their_place() {
    let mut buffer = ClientBuffer::new(2);
    assert!(buffer.push(1));
    assert!(buffer.push(2));
    assert!(!buffer.push(3));
    assert!(!buffer.push(4));
    assert_eq!(buffer.take(1), vec![FeedEntry::Line(1)]);
    assert!(buffer.push(5));
    assert!(!buffer.push(6));
    assert_eq!(
        buffer.take(10),
        vec![
            FeedEntry::Line(2),
            FeedEntry::Dropped(2),
            FeedEntry::Line(5),
            FeedEntry::Dropped(1),
        ]
    );
    assert!(buffer.is_empty());
    assert_eq!(buffer.lines(), 0);
}

#[test]
fn the_client_side_builds_auth_plain_and_tells_lines_apart() {
    use super::{ServerLine, auth_plain_command, classify};
    assert_eq!(
        auth_plain_command("admin@example.test", "secret"),
        format!("AUTH PLAIN {}", harness::ADMIN_PLAIN)
    );
    let rows = [
        ("+OK logged in", ServerLine::Ok("logged in")),
        ("-ERR [AUTH] no", ServerLine::Err("[AUTH] no")),
        ("+ ", ServerLine::Continue),
        ("* 2026 INFO mx - x", ServerLine::Log("2026 INFO mx - x")),
        (
            "! ... 3 lines dropped",
            ServerLine::Notice("... 3 lines dropped"),
        ),
        ("hello", ServerLine::Other("hello")),
    ];
    for (line, expected) in rows {
        assert_eq!(classify(line), expected, "{line}");
    }
}
