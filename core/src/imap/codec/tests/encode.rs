//! A test-only encoder of commands, written from RFC 9051 section 9 apart
//! from the parser, so that the round-trip property checks one against
//! the other. Strings go quoted when they can, else as literals.

use crate::imap::command::*;
use crate::imap::value::encode_string;

pub fn encode(command: &Command) -> Vec<u8> {
    let mut out = command.tag.as_bytes().to_vec();
    out.push(b' ');
    body(&command.body, &mut out);
    out.extend_from_slice(b"\r\n");
    out
}

fn s(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

fn string(out: &mut Vec<u8>, text: &str) {
    encode_string(text.as_bytes(), out, true);
}

fn joined<T>(out: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        each(out, item);
    }
}

fn list<T>(out: &mut Vec<u8>, items: &[T], each: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'(');
    joined(out, items, each);
    out.push(b')');
}

fn body(body: &CommandBody, out: &mut Vec<u8>) {
    match body {
        CommandBody::Capability
        | CommandBody::Noop
        | CommandBody::Logout
        | CommandBody::StartTls
        | CommandBody::Namespace
        | CommandBody::Idle
        | CommandBody::Check
        | CommandBody::Close
        | CommandBody::Unselect
        | CommandBody::Expunge => s(out, body.name()),
        CommandBody::Id(fields) => {
            s(out, "ID ");
            if fields.is_empty() {
                s(out, "NIL");
            } else {
                list(out, fields, |out, (field, value)| {
                    string(out, field);
                    out.push(b' ');
                    match value {
                        Some(value) => string(out, value),
                        None => s(out, "NIL"),
                    }
                });
            }
        }
        CommandBody::Authenticate { mechanism, initial } => {
            s(out, "AUTHENTICATE ");
            s(out, mechanism);
            if let Some(initial) = initial {
                s(out, " ");
                s(out, initial);
            }
        }
        CommandBody::Login { user, password } => {
            s(out, "LOGIN ");
            string(out, user);
            s(out, " ");
            string(out, password);
        }
        CommandBody::Enable(capabilities) => {
            s(out, "ENABLE");
            for capability in capabilities {
                s(out, " ");
                s(out, capability);
            }
        }
        CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
            s(out, body.name());
            s(out, " ");
            string(out, mailbox);
            select_params(out, params);
        }
        CommandBody::Create {
            mailbox,
            special_use,
        } => {
            s(out, "CREATE ");
            string(out, mailbox);
            if !special_use.is_empty() {
                s(out, " (USE ");
                list(out, special_use, |out, attribute| s(out, attribute));
                s(out, ")");
            }
        }
        CommandBody::Delete(mailbox)
        | CommandBody::Subscribe(mailbox)
        | CommandBody::Unsubscribe(mailbox)
        | CommandBody::GetQuota(mailbox)
        | CommandBody::GetQuotaRoot(mailbox) => {
            s(out, body.name());
            s(out, " ");
            string(out, mailbox);
        }
        CommandBody::Rename { from, to } => {
            s(out, "RENAME ");
            string(out, from);
            s(out, " ");
            string(out, to);
        }
        CommandBody::List(command) => list_command(out, command),
        CommandBody::Lsub { reference, pattern } => {
            s(out, "LSUB ");
            string(out, reference);
            s(out, " ");
            string(out, pattern);
        }
        CommandBody::Status { mailbox, items } => {
            s(out, "STATUS ");
            string(out, mailbox);
            s(out, " ");
            list(out, items, |out, item| s(out, status_item(*item)));
        }
        CommandBody::Append { mailbox, messages } => {
            s(out, "APPEND ");
            string(out, mailbox);
            for message in messages {
                append_message(out, message);
            }
        }
        CommandBody::SetQuota { root, limits } => {
            s(out, "SETQUOTA ");
            string(out, root);
            s(out, " ");
            list(out, limits, |out, (name, value)| {
                s(out, &format!("{name} {value}"))
            });
        }
        CommandBody::UidExpunge(set) => {
            s(out, "UID EXPUNGE ");
            sequence_set(out, set);
        }
        CommandBody::Search { search, .. } => {
            s(out, body.name());
            search_program(out, search);
        }
        CommandBody::Fetch {
            set,
            items,
            modifiers,
            ..
        } => {
            s(out, body.name());
            s(out, " ");
            sequence_set(out, set);
            s(out, " ");
            list(out, items, fetch_item);
            let mut parts = Vec::new();
            if let Some(modseq) = modifiers.changed_since {
                parts.push(format!("CHANGEDSINCE {modseq}"));
            }
            if modifiers.vanished {
                parts.push("VANISHED".to_owned());
            }
            if !parts.is_empty() {
                s(out, &format!(" ({})", parts.join(" ")));
            }
        }
        CommandBody::Store {
            set,
            unchanged_since,
            action,
            silent,
            flags,
            ..
        } => {
            s(out, body.name());
            s(out, " ");
            sequence_set(out, set);
            if let Some(modseq) = unchanged_since {
                s(out, &format!(" (UNCHANGEDSINCE {modseq})"));
            }
            s(out, " ");
            s(
                out,
                match action {
                    StoreAction::Replace => "",
                    StoreAction::Add => "+",
                    StoreAction::Remove => "-",
                },
            );
            s(out, if *silent { "FLAGS.SILENT " } else { "FLAGS " });
            list(out, flags, flag);
        }
        CommandBody::Copy { set, mailbox, .. } | CommandBody::Move { set, mailbox, .. } => {
            s(out, body.name());
            s(out, " ");
            sequence_set(out, set);
            s(out, " ");
            string(out, mailbox);
        }
        CommandBody::Sort {
            criteria, search, ..
        } => {
            s(out, body.name());
            s(out, " ");
            list(out, criteria, |out, criterion| {
                if criterion.reverse {
                    s(out, "REVERSE ");
                }
                s(out, sort_key(criterion.key));
            });
            charset_and_keys(out, search);
        }
        CommandBody::Thread {
            algorithm, search, ..
        } => {
            s(out, body.name());
            s(
                out,
                match algorithm {
                    ThreadAlgorithm::OrderedSubject => " ORDEREDSUBJECT",
                    ThreadAlgorithm::References => " REFERENCES",
                },
            );
            charset_and_keys(out, search);
        }
    }
}

fn select_params(out: &mut Vec<u8>, params: &SelectParams) {
    let mut parts = Vec::new();
    if params.condstore {
        parts.push(b"CONDSTORE".to_vec());
    }
    if let Some(q) = &params.qresync {
        let mut part = format!("QRESYNC ({} {}", q.uid_validity, q.modseq).into_bytes();
        if let Some(known) = &q.known_uids {
            part.push(b' ');
            sequence_set(&mut part, known);
        }
        if let Some((sequences, uids)) = &q.seq_match {
            part.extend_from_slice(b" (");
            sequence_set(&mut part, sequences);
            part.push(b' ');
            sequence_set(&mut part, uids);
            part.push(b')');
        }
        part.push(b')');
        parts.push(part);
    }
    if !parts.is_empty() {
        s(out, " ");
        list(out, &parts, |out, part| out.extend_from_slice(part));
    }
}

fn list_command(out: &mut Vec<u8>, command: &ListCommand) {
    s(out, "LIST ");
    let selection = &command.selection;
    let mut options = Vec::new();
    for (on, name) in [
        (selection.subscribed, "SUBSCRIBED"),
        (selection.remote, "REMOTE"),
        (selection.recursive_match, "RECURSIVEMATCH"),
        (selection.special_use, "SPECIAL-USE"),
    ] {
        if on {
            options.push(name);
        }
    }
    if !options.is_empty() {
        list(out, &options, |out, option| s(out, option));
        s(out, " ");
    }
    string(out, &command.reference);
    s(out, " ");
    if command.patterns.len() == 1 {
        string(out, &command.patterns[0]);
    } else {
        list(out, &command.patterns, |out, pattern| string(out, pattern));
    }
    let returns = &command.returns;
    let mut options = Vec::new();
    for (on, name) in [
        (returns.subscribed, "SUBSCRIBED"),
        (returns.children, "CHILDREN"),
        (returns.special_use, "SPECIAL-USE"),
    ] {
        if on {
            options.push(name.to_owned());
        }
    }
    if !returns.status.is_empty() {
        let items: Vec<&str> = returns.status.iter().map(|i| status_item(*i)).collect();
        options.push(format!("STATUS ({})", items.join(" ")));
    }
    if !options.is_empty() {
        s(out, &format!(" RETURN ({})", options.join(" ")));
    }
}

fn status_item(item: StatusItem) -> &'static str {
    match item {
        StatusItem::Messages => "MESSAGES",
        StatusItem::UidNext => "UIDNEXT",
        StatusItem::UidValidity => "UIDVALIDITY",
        StatusItem::Unseen => "UNSEEN",
        StatusItem::Deleted => "DELETED",
        StatusItem::Size => "SIZE",
        StatusItem::Recent => "RECENT",
        StatusItem::HighestModSeq => "HIGHESTMODSEQ",
        StatusItem::AppendLimit => "APPENDLIMIT",
    }
}

fn append_message(out: &mut Vec<u8>, message: &AppendMessage) {
    s(out, " ");
    if !message.flags.is_empty() {
        list(out, &message.flags, flag);
        s(out, " ");
    }
    if let Some(date) = &message.date {
        let zone = date.zone_minutes.unsigned_abs();
        s(
            out,
            &format!(
                "\"{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\" ",
                date.date.day,
                month(date.date.month),
                date.date.year,
                date.hour,
                date.minute,
                date.second,
                if date.zone_minutes < 0 { '-' } else { '+' },
                zone / 60,
                zone % 60
            ),
        );
    }
    if message.utf8 {
        s(out, "UTF8 (");
    }
    let tilde = if message.binary { "~" } else { "" };
    s(out, &format!("{tilde}{{{}}}\r\n", message.content.len()));
    out.extend_from_slice(&message.content);
    if message.utf8 {
        s(out, ")");
    }
}

fn month(month: u8) -> &'static str {
    super::super::parser::MONTHS[usize::from(month - 1)]
}

pub fn flag(out: &mut Vec<u8>, flag: &FlagName) {
    match flag {
        FlagName::Seen => s(out, "\\Seen"),
        FlagName::Answered => s(out, "\\Answered"),
        FlagName::Flagged => s(out, "\\Flagged"),
        FlagName::Deleted => s(out, "\\Deleted"),
        FlagName::Draft => s(out, "\\Draft"),
        FlagName::Recent => s(out, "\\Recent"),
        FlagName::Extension(name) => s(out, &format!("\\{name}")),
        FlagName::Keyword(name) => s(out, name),
    }
}

pub fn sequence_set(out: &mut Vec<u8>, set: &SequenceSet) {
    match set {
        SequenceSet::Saved => s(out, "$"),
        SequenceSet::Ranges(ranges) => {
            for (i, range) in ranges.iter().enumerate() {
                if i > 0 {
                    s(out, ",");
                }
                seq_number(out, range.start);
                if range.end != range.start {
                    s(out, ":");
                    seq_number(out, range.end);
                }
            }
        }
    }
}

fn seq_number(out: &mut Vec<u8>, number: SeqNumber) {
    match number {
        SeqNumber::Largest => s(out, "*"),
        SeqNumber::Value(n) => s(out, &n.to_string()),
    }
}

fn fetch_item(out: &mut Vec<u8>, item: &FetchItem) {
    match item {
        FetchItem::Envelope => s(out, "ENVELOPE"),
        FetchItem::Flags => s(out, "FLAGS"),
        FetchItem::InternalDate => s(out, "INTERNALDATE"),
        FetchItem::Rfc822Size => s(out, "RFC822.SIZE"),
        FetchItem::Rfc822 => s(out, "RFC822"),
        FetchItem::Rfc822Header => s(out, "RFC822.HEADER"),
        FetchItem::Rfc822Text => s(out, "RFC822.TEXT"),
        FetchItem::Body => s(out, "BODY"),
        FetchItem::BodyStructure => s(out, "BODYSTRUCTURE"),
        FetchItem::Uid => s(out, "UID"),
        FetchItem::ModSeq => s(out, "MODSEQ"),
        FetchItem::BodySection {
            peek,
            section,
            partial,
        } => {
            s(out, if *peek { "BODY.PEEK[" } else { "BODY[" });
            part(out, &section.part);
            if let Some(text) = &section.text {
                if !section.part.is_empty() {
                    s(out, ".");
                }
                match text {
                    SectionText::Header => s(out, "HEADER"),
                    SectionText::Text => s(out, "TEXT"),
                    SectionText::Mime => s(out, "MIME"),
                    SectionText::HeaderFields(fields) => {
                        s(out, "HEADER.FIELDS ");
                        list(out, fields, |out, field| string(out, field));
                    }
                    SectionText::HeaderFieldsNot(fields) => {
                        s(out, "HEADER.FIELDS.NOT ");
                        list(out, fields, |out, field| string(out, field));
                    }
                }
            }
            s(out, "]");
            partial_range(out, partial);
        }
        FetchItem::Binary {
            peek,
            part: path,
            partial,
        } => {
            s(out, if *peek { "BINARY.PEEK[" } else { "BINARY[" });
            part(out, path);
            s(out, "]");
            partial_range(out, partial);
        }
        FetchItem::BinarySize { part: path } => {
            s(out, "BINARY.SIZE[");
            part(out, path);
            s(out, "]");
        }
    }
}

fn part(out: &mut Vec<u8>, part: &[u32]) {
    let numbers: Vec<String> = part.iter().map(u32::to_string).collect();
    s(out, &numbers.join("."));
}

fn partial_range(out: &mut Vec<u8>, partial: &Option<Partial>) {
    if let Some(partial) = partial {
        s(out, &format!("<{}.{}>", partial.offset, partial.length));
    }
}

fn sort_key(key: SortKey) -> &'static str {
    match key {
        SortKey::Arrival => "ARRIVAL",
        SortKey::Cc => "CC",
        SortKey::Date => "DATE",
        SortKey::From => "FROM",
        SortKey::Size => "SIZE",
        SortKey::Subject => "SUBJECT",
        SortKey::To => "TO",
        SortKey::DisplayFrom => "DISPLAYFROM",
        SortKey::DisplayTo => "DISPLAYTO",
    }
}

fn search_program(out: &mut Vec<u8>, program: &SearchProgram) {
    if let Some(returns) = &program.returns {
        s(out, " RETURN ");
        list(out, returns, |out, option| {
            s(
                out,
                match option {
                    SearchReturn::Min => "MIN",
                    SearchReturn::Max => "MAX",
                    SearchReturn::All => "ALL",
                    SearchReturn::Count => "COUNT",
                    SearchReturn::Save => "SAVE",
                },
            )
        });
    }
    if let Some(charset) = &program.charset {
        s(out, " CHARSET ");
        string(out, charset);
    }
    s(out, " ");
    top_key(out, &program.key);
}

fn charset_and_keys(out: &mut Vec<u8>, program: &SearchProgram) {
    s(out, " ");
    string(out, program.charset.as_deref().unwrap_or("UTF-8"));
    s(out, " ");
    top_key(out, &program.key);
}

/// The keys of a program: an AND as keys in a row.
fn top_key(out: &mut Vec<u8>, key: &SearchKey) {
    match key {
        SearchKey::And(keys) => joined(out, keys, search_key),
        key => search_key(out, key),
    }
}

fn date(out: &mut Vec<u8>, date: &Date) {
    s(
        out,
        &format!("{}-{}-{}", date.day, month(date.month), date.year),
    );
}

pub fn search_key(out: &mut Vec<u8>, key: &SearchKey) {
    let keyed = |out: &mut Vec<u8>, name: &str, text: &str| {
        s(out, name);
        s(out, " ");
        string(out, text);
    };
    match key {
        SearchKey::All => s(out, "ALL"),
        SearchKey::And(keys) => list(out, keys, search_key),
        SearchKey::Or(left, right) => {
            s(out, "OR ");
            search_key(out, left);
            s(out, " ");
            search_key(out, right);
        }
        SearchKey::Not(key) => {
            s(out, "NOT ");
            search_key(out, key);
        }
        SearchKey::SequenceSet(set) => sequence_set(out, set),
        SearchKey::Uid(set) => {
            s(out, "UID ");
            sequence_set(out, set);
        }
        SearchKey::Answered => s(out, "ANSWERED"),
        SearchKey::Deleted => s(out, "DELETED"),
        SearchKey::Draft => s(out, "DRAFT"),
        SearchKey::Flagged => s(out, "FLAGGED"),
        SearchKey::Seen => s(out, "SEEN"),
        SearchKey::Unanswered => s(out, "UNANSWERED"),
        SearchKey::Undeleted => s(out, "UNDELETED"),
        SearchKey::Undraft => s(out, "UNDRAFT"),
        SearchKey::Unflagged => s(out, "UNFLAGGED"),
        SearchKey::Unseen => s(out, "UNSEEN"),
        SearchKey::Recent => s(out, "RECENT"),
        SearchKey::New => s(out, "NEW"),
        SearchKey::Old => s(out, "OLD"),
        SearchKey::Keyword(k) => s(out, &format!("KEYWORD {k}")),
        SearchKey::Unkeyword(k) => s(out, &format!("UNKEYWORD {k}")),
        SearchKey::Before(d) | SearchKey::On(d) | SearchKey::Since(d) => {
            s(
                out,
                match key {
                    SearchKey::Before(_) => "BEFORE ",
                    SearchKey::On(_) => "ON ",
                    _ => "SINCE ",
                },
            );
            date(out, d);
        }
        SearchKey::SentBefore(d) | SearchKey::SentOn(d) | SearchKey::SentSince(d) => {
            s(
                out,
                match key {
                    SearchKey::SentBefore(_) => "SENTBEFORE ",
                    SearchKey::SentOn(_) => "SENTON ",
                    _ => "SENTSINCE ",
                },
            );
            date(out, d);
        }
        SearchKey::Younger(n) => s(out, &format!("YOUNGER {n}")),
        SearchKey::Older(n) => s(out, &format!("OLDER {n}")),
        SearchKey::Larger(n) => s(out, &format!("LARGER {n}")),
        SearchKey::Smaller(n) => s(out, &format!("SMALLER {n}")),
        SearchKey::Bcc(t) => keyed(out, "BCC", t),
        SearchKey::Cc(t) => keyed(out, "CC", t),
        SearchKey::From(t) => keyed(out, "FROM", t),
        SearchKey::Subject(t) => keyed(out, "SUBJECT", t),
        SearchKey::To(t) => keyed(out, "TO", t),
        SearchKey::Body(t) => keyed(out, "BODY", t),
        SearchKey::Text(t) => keyed(out, "TEXT", t),
        SearchKey::Header(field, value) => {
            keyed(out, "HEADER", field);
            s(out, " ");
            string(out, value);
        }
        SearchKey::ModSeq(n) => s(out, &format!("MODSEQ {n}")),
    }
}
