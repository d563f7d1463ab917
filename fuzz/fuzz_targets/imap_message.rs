//! What IMAP shows of a message (`postern_core::imap::message`) on any
//! bytes: ENVELOPE, BODY and BODYSTRUCTURE, every kind of section and
//! BINARY for a few part paths, SEARCH text and date keys, SORT and
//! THREAD over the message twice.
//!
//! Asserted, besides "never panics": HEADER and TEXT are the whole
//! message between them, BODY[] is the message, a part's octets lie
//! inside the message, and `<partial>` stays inside what it cuts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::imap::command::{
    Date, Partial, SearchKey, Section, SectionText, SortCriterion, SortKey, ThreadAlgorithm,
};
use postern_core::imap::message::search::{self, Candidate, SearchContext};
use postern_core::imap::message::sort::{self, SortInput};
use postern_core::imap::message::thread::{self, ThreadInput};
use postern_core::imap::message::{ParsedMessage, partial};
use postern_core::mailbox::{Flags, Keywords, ModSeq, Uid};
use postern_core::time::UnixTime;
use std::num::NonZeroU32;

const PATHS: &[&[u32]] = &[&[], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 1], &[3]];

fuzz_target!(|data: &[u8]| {
    let message = ParsedMessage::parse(data);
    let _ = message.envelope().to_bytes(false);
    let _ = message.body_structure(true).to_bytes(true);
    let _ = message.body_structure(false).to_bytes(false);
    let _ = message.sent_date();

    let header = message.section(&section(&[], Some(SectionText::Header)));
    let text = message.section(&section(&[], Some(SectionText::Text)));
    let (Some(header), Some(text)) = (header, text) else {
        panic!("a message always has a header and a text, if empty");
    };
    assert_eq!([header.as_ref(), text.as_ref()].concat(), data);
    assert_eq!(message.section(&Section::default()).as_deref(), Some(data));

    for path in PATHS {
        for kind in [
            None,
            Some(SectionText::Header),
            Some(SectionText::Text),
            Some(SectionText::Mime),
            Some(SectionText::HeaderFields(vec!["Subject".into(), "from".into()])),
            Some(SectionText::HeaderFieldsNot(vec!["Received".into()])),
        ] {
            let octets_of_the_message = matches!(kind, None | Some(SectionText::Mime));
            if let Some(octets) = message.section(&section(path, kind)) {
                if octets_of_the_message {
                    assert!(
                        data.windows(octets.len().max(1)).any(|w| w.starts_with(&octets))
                            || octets.is_empty()
                    );
                }
                let cut = partial(
                    &octets,
                    Some(Partial {
                        offset: 2,
                        length: NonZeroU32::new(5).expect("not zero"),
                    }),
                );
                assert!(cut.len() <= 5 && cut.len() <= octets.len());
            }
        }
        let _ = message.binary(path);
    }

    let keywords = Keywords::new();
    let candidate = Candidate {
        seq: 1,
        uid: Uid::FIRST,
        flags: Flags::EMPTY,
        keywords: &keywords,
        recent: false,
        internal_date: UnixTime(0),
        size: data.len() as u64,
        modseq: ModSeq(1),
        message: Some(&message),
    };
    let context = SearchContext {
        now: UnixTime(0),
        largest_seq: 1,
        largest_uid: 1,
        saved: &[],
    };
    let day = Date {
        year: 2026,
        month: 11,
        day: 30,
    };
    for key in [
        SearchKey::Text("é".into()),
        SearchKey::Body("a".into()),
        SearchKey::From("b".into()),
        SearchKey::Header("References".into(), String::new()),
        SearchKey::SentOn(day),
    ] {
        let _ = search::matches(&key, &candidate, &context);
    }

    let criteria: Vec<SortCriterion> = [
        SortKey::Subject,
        SortKey::From,
        SortKey::Cc,
        SortKey::DisplayTo,
        SortKey::Date,
    ]
    .into_iter()
    .map(|key| SortCriterion {
        reverse: false,
        key,
    })
    .collect();
    let sort_items = [1, 2].map(|seq| SortInput {
        seq,
        uid: Uid::new(seq).expect("not zero"),
        internal_date: UnixTime(0),
        size: 0,
        message: &message,
    });
    let order = sort::sort(&criteria, &sort_items);
    assert_eq!(order, vec![0, 1], "equal messages sort by sequence number");

    let thread_items = [1, 2].map(|seq| ThreadInput {
        seq,
        uid: Uid::new(seq).expect("not zero"),
        internal_date: UnixTime(0),
        message: &message,
    });
    for algorithm in [ThreadAlgorithm::References, ThreadAlgorithm::OrderedSubject] {
        let mut out = Vec::new();
        thread::encode(&thread::thread(algorithm, &thread_items, false), &mut out);
        assert!(out.iter().all(|b| b.is_ascii_digit() || b" ()".contains(b)));
    }
});

fn section(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}
