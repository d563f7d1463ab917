//! The settings' checks and file format, dates, and the vacation memory.

use super::*;

#[test]
fn the_memory_remembers_prunes_and_is_bounded() {
    let mut memory = ReplyMemory::default();
    memory.remember("Carol@Remote.test", UnixTime(1000), 7);
    memory.remember("dave@remote.test", UnixTime(1000 + 3 * DAY), 7);
    assert_eq!(memory.last_reply("carol@remote.test"), Some(UnixTime(1000)));
    // Eight days on, carol's entry holds nobody back and goes.
    memory.remember("erin@remote.test", UnixTime(1000 + 8 * DAY), 7);
    assert_eq!(memory.last_reply("carol@remote.test"), None);
    assert_eq!(memory.len(), 2);
    let text = memory.render();
    assert_eq!(ReplyMemory::parse(&text), memory);
    // Damaged lines are skipped; the rest still counts.
    let damaged = format!("garbage\n12 \nx y z\n{text}");
    assert_eq!(ReplyMemory::parse(&damaged), memory);
    // Past the limit the oldest go, both when remembering and reading.
    let mut big = ReplyMemory::default();
    for i in 0..VACATION_MEMORY_ENTRIES_MAX as i64 + 5 {
        big.remember(&format!("s{i}@remote.test"), UnixTime(i), 365);
    }
    assert_eq!(big.len(), VACATION_MEMORY_ENTRIES_MAX);
    assert_eq!(big.last_reply("s0@remote.test"), None);
    assert!(big.last_reply("s5@remote.test").is_some());
    let mut lines = big.render();
    lines.push_str("999999 late@remote.test\n");
    let reread = ReplyMemory::parse(&lines);
    assert_eq!(reread.len(), VACATION_MEMORY_ENTRIES_MAX);
    assert!(reread.last_reply("late@remote.test").is_some());
    assert_eq!(reread.last_reply("s5@remote.test"), None);
}

#[test]
fn settings_are_checked_and_round_trip() {
    let own = vec![
        "alice@example.test".to_owned(),
        "info@example.test".to_owned(),
    ];
    let good = MailboxRules {
        forward: Some(Forwarding {
            to: vec![" Bob@Example.test".into(), "bob@example.test".into()],
            keep: false,
        }),
        vacation: Some(Vacation {
            subject: Some("  Away ".into()),
            body: "Back soon.\r\n\r\n".into(),
            start: Some("2026-12-01".into()),
            end: Some("2026-12-24".into()),
            ..vacation()
        }),
        senders: None,
    };
    let checked = good.check(&own).unwrap();
    assert_eq!(checked.forward.as_ref().unwrap().to, ["bob@example.test"]);
    let v = checked.vacation.as_ref().unwrap();
    assert_eq!(
        (v.subject.as_deref(), v.body.as_str()),
        (Some("Away"), "Back soon.")
    );
    let text = checked.render();
    assert_eq!(MailboxRules::parse(&text).unwrap(), checked);
    assert!(!checked.is_inert());
    assert!(MailboxRules::default().is_inert());
    // Days default to 7 and keep to true when a file leaves them out.
    let short = MailboxRules::parse(
        "[forward]\nto = [\"b@x.test\"]\n[vacation]\nenabled = true\nbody = \"x\"\n",
    )
    .unwrap();
    assert!(short.forward.unwrap().keep);
    assert_eq!(short.vacation.unwrap().days, 7);

    let refused = |rules: MailboxRules, says: &str| {
        let error = rules.check(&own).unwrap_err();
        assert!(error.contains(says), "{error:?} should say {says:?}");
    };
    let fwd = |to: Vec<String>| MailboxRules {
        forward: Some(Forwarding { to, keep: true }),
        vacation: None,
        senders: None,
    };
    let vac = |v: Vacation| MailboxRules {
        forward: None,
        vacation: Some(v),
        senders: None,
    };
    refused(fwd(vec!["not an address".into()]), "is not an address");
    refused(fwd(vec!["INFO@example.test".into()]), "would be a loop");
    refused(fwd(vec![]), "at least one address");
    refused(
        fwd((0..=FORWARD_ADDRESSES_MAX)
            .map(|i| format!("u{i}@x.test"))
            .collect()),
        "at most 10",
    );
    refused(
        vac(Vacation {
            body: " \n".into(),
            ..vacation()
        }),
        "text is empty",
    );
    refused(
        vac(Vacation {
            body: "bell\x07".into(),
            ..vacation()
        }),
        "control character",
    );
    refused(
        vac(Vacation {
            body: "x".repeat(9000),
            ..vacation()
        }),
        "at most 8192",
    );
    refused(
        vac(Vacation {
            subject: Some("a\nb".into()),
            ..vacation()
        }),
        "one line",
    );
    refused(
        vac(Vacation {
            days: 0,
            ..vacation()
        }),
        "give 1 to 365",
    );
    refused(
        vac(Vacation {
            start: Some("2026-02-30".into()),
            ..vacation()
        }),
        "is not a date",
    );
    refused(
        vac(Vacation {
            start: Some("2026-12-24".into()),
            end: Some("2026-12-01".into()),
            ..vacation()
        }),
        "ends (2026-12-01) before it starts (2026-12-24)",
    );
    assert!(MailboxRules::parse("[vacation]\nenabled = true\n").is_err());
    assert!(MailboxRules::parse("[forward]\nto = []\n").is_err());
    assert!(MailboxRules::parse("[forward]\nto = [\"b@x.test\"]\nkeeps = 1\n").is_err());
}

#[test]
fn days_read_and_write() {
    assert_eq!(parse_day("1970-01-01"), Ok(0));
    assert_eq!(parse_day("2026-11-30"), Ok(day_of(NOW)));
    assert_eq!(format_day(day_of(NOW)), "2026-11-30");
    assert_eq!(day_of(UnixTime(-1)), -1);
    for bad in [
        "2026-13-01",
        "26-01-01",
        "2026-1-1",
        "yesterday",
        "2026-02-29",
    ] {
        assert!(parse_day(bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_day("2028-02-29").map(format_day).as_deref(),
        Ok("2028-02-29")
    );
}

#[test]
fn sender_lists_are_read_checked_and_written_back() {
    let text = "[senders]\nallow = [\"Boss@Spam.example\"]\nblock = [\"@spam.example\", \"*.biz\", \"*.BIZ\"]\nblocked = \"refuse\"\n";
    let rules = MailboxRules::parse(text).unwrap();
    let lists = rules.senders.clone().unwrap();
    let shown = |list: &[crate::spam::AddressPattern]| -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    };
    assert_eq!(shown(&lists.allow), ["boss@spam.example"]);
    assert_eq!(shown(&lists.block), ["@spam.example", "*.biz"]);
    assert_eq!(lists.blocked, crate::spam::Blocked::Refuse);
    assert!(rules.is_inert() && !rules.is_empty());
    let written = rules.render();
    assert!(written.contains("[senders]"), "{written}");
    assert_eq!(MailboxRules::parse(&written).unwrap(), rules);
    // `blocked` defaults to junk; empty lists with it are no lists.
    let junk = MailboxRules::parse("[senders]\nblock = [\"x@y.example\"]\n").unwrap();
    assert_eq!(junk.senders.unwrap().blocked, crate::spam::Blocked::Junk);
    let nothing = MailboxRules::parse("[senders]\n").unwrap();
    assert!(nothing.is_empty());
    // A bad pattern, an unknown choice and too many entries are refused.
    let refused = |text: &str, says: &str| {
        let error = MailboxRules::parse(text).unwrap_err();
        assert!(error.contains(says), "{error:?} should say {says:?}");
    };
    refused(
        "[senders]\nblock = [\"spammer\"]\n",
        "no @ and is no domain",
    );
    refused(
        "[senders]\nblocked = \"bounce\"\n",
        "unknown variant `bounce`",
    );
    refused("[senders]\nblocks = []\n", "unknown field `blocks`");
    let many: Vec<String> = (0..=crate::limits::SENDER_LIST_ENTRIES_MAX)
        .map(|i| format!("\"u{i}@x.example\""))
        .collect();
    refused(
        &format!("[senders]\nallow = [{}]\n", many.join(", ")),
        "the allow list has 101 entries; at most 100",
    );
}

#[test]
fn only_a_copy_when_nothing_forwards_replies_or_blocks_the_sender() {
    let sender = |text: &str| crate::address::parse_reverse_path(text, false).unwrap();
    let (spammer, friend) = (sender("<x@spam.example>"), sender("<ann@friend.example>"));
    assert!(MailboxRules::only_a_copy(None, &spammer));
    let lists = MailboxRules::parse("[senders]\nblock = [\"@spam.example\"]\n").unwrap();
    assert!(
        !MailboxRules::only_a_copy(Some(&lists), &spammer),
        "to Junk"
    );
    assert!(MailboxRules::only_a_copy(Some(&lists), &friend));
    assert!(MailboxRules::only_a_copy(Some(&lists), &sender("<>")));
    let forward = MailboxRules::parse("[forward]\nto = [\"bob@elsewhere.example\"]\n").unwrap();
    assert!(!MailboxRules::only_a_copy(Some(&forward), &friend));
    let away = "[vacation]\nenabled = true\nbody = \"away\"\n";
    let away = MailboxRules::parse(away).unwrap();
    assert!(!MailboxRules::only_a_copy(Some(&away), &friend));
    let off = MailboxRules::parse("[vacation]\nenabled = false\nbody = \"away\"\n").unwrap();
    assert!(MailboxRules::only_a_copy(Some(&off), &friend));
}
