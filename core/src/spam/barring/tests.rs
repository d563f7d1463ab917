use super::*;
use crate::address::{parse_forward_path, parse_reverse_path};

fn patterns(written: &[&str]) -> Vec<AddressPattern> {
    written
        .iter()
        .map(|p| AddressPattern::parse(p).unwrap())
        .collect()
}

fn from(text: &str) -> ReversePath {
    parse_reverse_path(text, true).unwrap()
}

fn to(text: &str) -> ForwardPath {
    parse_forward_path(text, true).unwrap()
}

#[test]
fn barring_names_the_pattern_and_spares_null_sender_and_postmaster() {
    let barring = Barring {
        senders: patterns(&["*@spam.example", "*"]),
        recipients: patterns(&["old-user@example.test", "*@retired.example", "*"]),
    };
    assert_eq!(
        barring
            .sender(&from("<x@spam.example>"))
            .map(|p| p.as_str()),
        Some("*@spam.example")
    );
    assert_eq!(barring.sender(&from("<>")), None);
    assert_eq!(
        barring
            .recipient(&to("<old-user@Example.TEST>"))
            .map(|p| p.as_str()),
        Some("old-user@example.test")
    );
    assert_eq!(barring.recipient(&to("<Postmaster>")), None);
    assert!(
        Barring::default()
            .sender(&from("<x@spam.example>"))
            .is_none()
    );
}

#[test]
fn allow_wins_over_block() {
    let lists = SenderLists {
        allow: patterns(&["boss@spam.example"]),
        block: patterns(&["@spam.example"]),
        blocked: Blocked::Refuse,
    };
    let rows = [
        ("<boss@spam.example>", "allowed boss@spam.example"),
        ("<other@spam.example>", "blocked @spam.example refuse"),
        ("<other@mail.spam.example>", "blocked @spam.example refuse"),
        ("<friend@example.com>", "unlisted"),
        ("<>", "unlisted"),
    ];
    for (sender, expected) in rows {
        let verdict = match lists.verdict(&from(sender)) {
            ListVerdict::Unlisted => "unlisted".to_owned(),
            ListVerdict::Allowed(p) => format!("allowed {p}"),
            ListVerdict::Blocked(p, how) => format!("blocked {p} {how}"),
        };
        assert_eq!(verdict, expected, "{sender}");
    }
}

#[test]
fn change_moves_entries_between_lists_and_removes_them() {
    let lists = SenderLists::default()
        .change(
            &["friend@example.com".into()],
            &["*@spam.example".into(), "Friend@Example.com".into()],
            &[],
        )
        .unwrap();
    // The block of the same pattern moved it from allow to block.
    assert!(lists.allow.is_empty());
    assert_eq!(
        lists.block,
        patterns(&["*@spam.example", "friend@example.com"])
    );
    let lists = lists
        .change(
            &["friend@example.com".into()],
            &[],
            &["*@SPAM.example".into()],
        )
        .unwrap();
    assert_eq!(lists.allow, patterns(&["friend@example.com"]));
    assert!(lists.block.is_empty());
    let error = lists
        .clone()
        .change(&[], &[], &["nobody@x.example".into()])
        .unwrap_err();
    assert!(error.contains("in neither list"), "{error}");
    let error = lists.change(&[], &["bad pattern".into()], &[]).unwrap_err();
    assert!(error.contains("character ' '"), "{error}");
}

#[test]
fn lists_are_bounded() {
    let many: Vec<String> = (0..=SENDER_LIST_ENTRIES_MAX)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    let error = SenderLists::default().change(&[], &many, &[]).unwrap_err();
    assert!(
        error.contains(&format!("at most {SENDER_LIST_ENTRIES_MAX}")),
        "{error}"
    );
    let just_enough = &many[..SENDER_LIST_ENTRIES_MAX];
    assert!(SenderLists::default().change(just_enough, &[], &[]).is_ok());
}

#[test]
fn blocked_parses_junk_and_refuse_only() {
    assert_eq!(Blocked::parse("junk"), Ok(Blocked::Junk));
    assert_eq!(Blocked::parse(" Refuse "), Ok(Blocked::Refuse));
    let error = Blocked::parse("bounce").unwrap_err();
    assert!(
        error.contains("junk") && error.contains("refuse"),
        "{error}"
    );
}

#[test]
fn a_form_gives_one_pattern_per_line() {
    let lists = SenderLists::from_form(
        "friend@example.com\r\n\r\n  *@Family.example , boss@work.example\n",
        "*.biz\n*.biz\n",
        "refuse",
    )
    .unwrap();
    assert_eq!(
        lists.allow,
        patterns(&[
            "friend@example.com",
            "*@family.example",
            "boss@work.example"
        ])
    );
    assert_eq!(lists.block, patterns(&["*.biz"]));
    assert_eq!(lists.blocked, Blocked::Refuse);
    let error = SenderLists::from_form("", "spammer\n", "junk").unwrap_err();
    assert!(error.contains("\"spammer\" has no @"), "{error}");
    assert!(SenderLists::from_form("", "", "bounce").is_err());
}
