//! Properties over any bytes: nothing panics, sections add up.

use super::*;
use proptest::prelude::*;

fn sections() -> Vec<Section> {
    let mut all = vec![Section::default()];
    for part in [
        vec![],
        vec![1],
        vec![2],
        vec![1, 1],
        vec![2, 1],
        vec![2, 2, 1],
    ] {
        for text in [
            None,
            Some(SectionText::Header),
            Some(SectionText::Text),
            Some(SectionText::Mime),
            Some(SectionText::HeaderFields(vec!["subject".into()])),
            Some(SectionText::HeaderFieldsNot(vec!["from".into()])),
        ] {
            all.push(Section {
                part: part.clone(),
                text,
            });
        }
    }
    all
}

/// Bytes that look like mail: header lines, boundaries, nesting.
fn mailish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"Content-Type: multipart/mixed; boundary=b\r\n".to_vec()),
        Just(b"Content-Type: message/rfc822\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: quoted-printable\r\n".to_vec()),
        Just(b"Subject: =?utf-8?q?x=C3?= Re: [a] (fwd)\r\n".to_vec()),
        Just(b"From: \"a\" <b@c>, d: e@f;, (g\r\n".to_vec()),
        Just(b"Date: Tue, 3 Nov 2026 09:15:00 +0100\r\n".to_vec()),
        Just(b"References: <a@b> <c@d\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"--b\r\n".to_vec()),
        Just(b"--b--\r\n".to_vec()),
        Just(b" folded\r\n".to_vec()),
        Just(b"=C3=\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

fn exercise(raw: &[u8]) {
    let message = ParsedMessage::parse(raw);
    let _ = message.envelope().to_bytes(false);
    let _ = message.body_structure(true).to_bytes(true);
    let _ = message.body_structure(false);
    for section in sections() {
        if let Some(data) = message.section(&section) {
            let _ = partial(
                &data,
                Some(Partial {
                    offset: 3,
                    length: NonZeroU32::MIN,
                }),
            );
        }
    }
    for part in [&[][..], &[1], &[2], &[1, 2], &[3, 1, 1]] {
        let _ = message.binary(part);
    }
    let _ = message.sent_date();
    let keywords = Keywords::new();
    let candidate = Candidate {
        seq: 1,
        uid: Uid::FIRST,
        flags: Flags::EMPTY,
        keywords: &keywords,
        recent: false,
        internal_date: UnixTime(0),
        size: raw.len() as u64,
        modseq: ModSeq(1),
        message: Some(&message),
    };
    let context = SearchContext {
        now: UnixTime(0),
        largest_seq: 1,
        largest_uid: 1,
        saved: &[],
    };
    for key in [
        SearchKey::Text("a".into()),
        SearchKey::From("b".into()),
        SearchKey::SentSince(day(2026, 1, 1)),
    ] {
        let _ = search::matches(&key, &candidate, &context);
    }
    let sort_items = [SortInput {
        seq: 1,
        uid: Uid::FIRST,
        internal_date: UnixTime(0),
        size: 1,
        message: &message,
    }];
    let criteria: Vec<SortCriterion> = [
        SortKey::Subject,
        SortKey::From,
        SortKey::DisplayTo,
        SortKey::Date,
    ]
    .into_iter()
    .map(|key| SortCriterion {
        reverse: false,
        key,
    })
    .collect();
    let _ = sort::sort(&criteria, &sort_items);
    let thread_items = [ThreadInput {
        seq: 1,
        uid: Uid::FIRST,
        internal_date: UnixTime(0),
        message: &message,
    }];
    let _ = thread::thread(ThreadAlgorithm::References, &thread_items, false);
}

proptest! {
    #[test]
    fn any_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..400)) {
        exercise(&raw);
    }

    #[test]
    fn mail_like_bytes_never_panic(raw in mailish()) {
        exercise(&raw);
    }

    #[test]
    fn header_and_text_make_the_whole_message(raw in mailish()) {
        let message = ParsedMessage::parse(&raw);
        let header = message.section(&Section { part: vec![], text: Some(SectionText::Header) });
        let text = message.section(&Section { part: vec![], text: Some(SectionText::Text) });
        if let (Some(header), Some(text)) = (header, text) {
            prop_assert_eq!([header.as_ref(), text.as_ref()].concat(), raw);
        }
    }

    #[test]
    fn partial_stays_inside(data in proptest::collection::vec(any::<u8>(), 0..100), offset in any::<u32>(), length in 1..u32::MAX) {
        let length = NonZeroU32::new(length).expect("at least 1");
        let got = partial(&data, Some(Partial { offset, length }));
        let start = (offset as usize).min(data.len());
        prop_assert!(got.len() <= length.get() as usize);
        prop_assert_eq!(got, &data[start..start + got.len()]);
    }

    #[test]
    fn threads_hold_every_message_once(picks in proptest::collection::vec(0..24usize, 0..24)) {
        let messages: Vec<ParsedMessage> = picks
            .iter()
            .map(|&i| ParsedMessage::parse(THREAD_MESSAGES[i]))
            .collect();
        let items = thread_inputs(&messages);
        for algorithm in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
            let mut numbers = Vec::new();
            fn walk(thread: &thread::Thread, numbers: &mut Vec<u32>) {
                let children = match thread {
                    thread::Thread::Message(n, children) => { numbers.push(*n); children }
                    thread::Thread::Dummy(children) => children,
                };
                for child in children { walk(child, numbers); }
            }
            for t in thread::thread(algorithm, &items, false) { walk(&t, &mut numbers); }
            numbers.sort_unstable();
            let expected: Vec<u32> = (1..=items.len() as u32).collect();
            prop_assert_eq!(numbers, expected);
        }
    }
}

/// Each single part's size in BODYSTRUCTURE, by part path, as a client
/// reads them (imaptest checks BODY[path] against these).
fn sizes(body: &Value, path: Vec<u32>, out: &mut Vec<(Vec<u32>, u64)>) {
    let Value::List(items) = body else {
        panic!("a body is a list: {body:?}");
    };
    if let Some(Value::Concat(parts)) = items.first() {
        for (i, part) in parts.iter().enumerate() {
            let mut child = path.clone();
            child.push(i as u32 + 1);
            sizes(part, child, out);
        }
        return;
    }
    let Some(Value::Number(size)) = items.get(6) else {
        panic!("a single part has its size seventh: {body:?}");
    };
    out.push((path.clone(), *size));
    if let Some(inner @ Value::List(_)) = items.get(8) {
        // message/rfc822: the carried message's parts, or its body as 1.
        let multipart =
            matches!(inner, Value::List(list) if matches!(list.first(), Some(Value::Concat(_))));
        if multipart {
            sizes(inner, path, out);
        } else {
            let mut child = path;
            child.push(1);
            sizes(inner, child, out);
        }
    }
}

fn check_sizes(raw: &[u8]) -> Result<(), TestCaseError> {
    let message = ParsedMessage::parse(raw);
    let structure = message.body_structure(true);
    let mut found = Vec::new();
    let top_multipart =
        matches!(&structure, Value::List(list) if matches!(list.first(), Some(Value::Concat(_))));
    sizes(
        &structure,
        if top_multipart { vec![] } else { vec![1] },
        &mut found,
    );
    prop_assert!(!found.is_empty());
    for (path, size) in found {
        let octets = message.section(&Section {
            part: path.clone(),
            text: None,
        });
        prop_assert_eq!(
            octets.map(|o| o.len() as u64),
            Some(size),
            "part {:?}",
            path
        );
    }
    Ok(())
}

#[test]
fn sizes_of_a_message_that_is_a_message_rfc822() {
    // Found by the property below: the top level's part 1 is its body,
    // and 1.1 the message inside it.
    for raw in [
        &b"Content-Type: message/rfc822\r\n"[..],
        b"Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nbody",
    ] {
        check_sizes(raw).expect("sizes agree");
    }
}

proptest! {
    #[test]
    fn body_structure_sizes_are_the_sections_sizes(raw in mailish()) {
        check_sizes(&raw)?;
    }
}
