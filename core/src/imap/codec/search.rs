//! SEARCH programs (RFC 9051 6.4.4 with RFC 4731 ESEARCH, RFC 5182
//! SEARCHRES, RFC 5032 WITHIN, RFC 7162 MODSEQ) and RFC 5256 SORT and
//! THREAD, which take the same keys.

use super::parser::{PResult, Parser, syntax};
use crate::imap::command::{
    CommandBody, SearchKey, SearchProgram, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};

/// `SEARCH [RETURN (...)] [CHARSET x] keys`, from the space after the
/// command's name.
pub(super) fn search_program(p: &mut Parser) -> PResult<SearchProgram> {
    p.sp()?;
    let mut returns = None;
    if p.eat_keyword("RETURN") {
        p.sp()?;
        returns = Some(p.list(true, search_return)?);
        p.sp()?;
    }
    let mut charset = None;
    if p.eat_keyword("CHARSET") {
        p.sp()?;
        charset = Some(p.astring()?);
        p.sp()?;
    }
    let key = search_keys(p)?;
    Ok(SearchProgram {
        charset,
        returns,
        key,
    })
}

fn search_return(p: &mut Parser) -> PResult<SearchReturn> {
    let option = match p.keyword()?.as_str() {
        "MIN" => SearchReturn::Min,
        "MAX" => SearchReturn::Max,
        "ALL" => SearchReturn::All,
        "COUNT" => SearchReturn::Count,
        "SAVE" => SearchReturn::Save,
        _ => return syntax("Unknown SEARCH return option"),
    };
    Ok(option)
}

/// RFC 5256: `SORT (criteria) charset keys`.
pub(super) fn sort_command(p: &mut Parser, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let criteria = p.list(false, |p| {
        let reverse = p.eat_keyword("REVERSE");
        if reverse {
            p.sp()?;
        }
        let key = match p.keyword()?.as_str() {
            "ARRIVAL" => SortKey::Arrival,
            "CC" => SortKey::Cc,
            "DATE" => SortKey::Date,
            "FROM" => SortKey::From,
            "SIZE" => SortKey::Size,
            "SUBJECT" => SortKey::Subject,
            "TO" => SortKey::To,
            "DISPLAYFROM" => SortKey::DisplayFrom,
            "DISPLAYTO" => SortKey::DisplayTo,
            _ => return syntax("Unknown SORT key"),
        };
        Ok(SortCriterion { reverse, key })
    })?;
    let search = charset_and_keys(p)?;
    Ok(CommandBody::Sort {
        uid,
        criteria,
        search,
    })
}

/// RFC 5256: `THREAD algorithm charset keys`.
pub(super) fn thread_command(p: &mut Parser, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let algorithm = match p.keyword()?.as_str() {
        "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
        "REFERENCES" => ThreadAlgorithm::References,
        _ => return syntax("Unknown THREAD algorithm"),
    };
    let search = charset_and_keys(p)?;
    Ok(CommandBody::Thread {
        uid,
        algorithm,
        search,
    })
}

/// SORT and THREAD's `search-criteria`: a charset (required) and keys.
fn charset_and_keys(p: &mut Parser) -> PResult<SearchProgram> {
    p.sp()?;
    let charset = Some(p.astring()?);
    p.sp()?;
    Ok(SearchProgram {
        charset,
        returns: None,
        key: search_keys(p)?,
    })
}

/// One or more keys separated by spaces: one key, or their AND.
fn search_keys(p: &mut Parser) -> PResult<SearchKey> {
    let mut keys = vec![search_key(p)?];
    while p.eat(b' ') {
        keys.push(search_key(p)?);
    }
    Ok(if keys.len() == 1 {
        keys.remove(0)
    } else {
        SearchKey::And(keys)
    })
}

fn search_key(p: &mut Parser) -> PResult<SearchKey> {
    p.item()?;
    match p.peek() {
        Some(b'(') => {
            p.open()?;
            let key = search_keys(p)?;
            p.close()?;
            Ok(key)
        }
        Some(b'0'..=b'9' | b'*' | b'$') => Ok(SearchKey::SequenceSet(p.sequence_set()?)),
        _ => {
            let name = p.keyword()?;
            keyword_key(p, &name)
        }
    }
}

fn keyword_key(p: &mut Parser, name: &str) -> PResult<SearchKey> {
    let key = match name {
        "ALL" => SearchKey::All,
        "ANSWERED" => SearchKey::Answered,
        "DELETED" => SearchKey::Deleted,
        "DRAFT" => SearchKey::Draft,
        "FLAGGED" => SearchKey::Flagged,
        "SEEN" => SearchKey::Seen,
        "UNANSWERED" => SearchKey::Unanswered,
        "UNDELETED" => SearchKey::Undeleted,
        "UNDRAFT" => SearchKey::Undraft,
        "UNFLAGGED" => SearchKey::Unflagged,
        "UNSEEN" => SearchKey::Unseen,
        "RECENT" => SearchKey::Recent,
        "NEW" => SearchKey::New,
        "OLD" => SearchKey::Old,
        "NOT" => {
            p.sp()?;
            p.descend()?;
            let key = search_key(p)?;
            p.ascend();
            SearchKey::Not(Box::new(key))
        }
        "OR" => {
            p.sp()?;
            p.descend()?;
            let left = search_key(p)?;
            p.sp()?;
            let right = search_key(p)?;
            p.ascend();
            SearchKey::Or(Box::new(left), Box::new(right))
        }
        "UID" => {
            p.sp()?;
            SearchKey::Uid(p.sequence_set()?)
        }
        "KEYWORD" | "UNKEYWORD" => {
            p.sp()?;
            let keyword = p.atom()?.to_owned();
            if name == "KEYWORD" {
                SearchKey::Keyword(keyword)
            } else {
                SearchKey::Unkeyword(keyword)
            }
        }
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
            p.sp()?;
            let date = p.date()?;
            match name {
                "BEFORE" => SearchKey::Before(date),
                "ON" => SearchKey::On(date),
                "SINCE" => SearchKey::Since(date),
                "SENTBEFORE" => SearchKey::SentBefore(date),
                "SENTON" => SearchKey::SentOn(date),
                _ => SearchKey::SentSince(date),
            }
        }
        "OLDER" | "YOUNGER" => {
            p.sp()?;
            let seconds = p.nz_number()?.get();
            if name == "OLDER" {
                SearchKey::Older(seconds)
            } else {
                SearchKey::Younger(seconds)
            }
        }
        "LARGER" | "SMALLER" => {
            p.sp()?;
            // number64 in RFC 9051; no message is near 4 GiB (the largest
            // is MESSAGE_BYTES_MAX), so a larger size means the same as
            // u32::MAX.
            let size = u32::try_from(p.number64()?).unwrap_or(u32::MAX);
            if name == "LARGER" {
                SearchKey::Larger(size)
            } else {
                SearchKey::Smaller(size)
            }
        }
        "HEADER" => {
            p.sp()?;
            let field = p.astring()?;
            p.sp()?;
            SearchKey::Header(field, p.astring()?)
        }
        "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" => {
            p.sp()?;
            let text = p.astring()?;
            match name {
                "BCC" => SearchKey::Bcc(text),
                "BODY" => SearchKey::Body(text),
                "CC" => SearchKey::Cc(text),
                "FROM" => SearchKey::From(text),
                "SUBJECT" => SearchKey::Subject(text),
                "TEXT" => SearchKey::Text(text),
                _ => SearchKey::To(text),
            }
        }
        "MODSEQ" => {
            p.sp()?;
            // RFC 7162 3.1.5: an optional entry name and type, which
            // Postern (no per-flag mod-sequences) ignores.
            if p.peek() == Some(b'"') {
                p.string()?;
                p.sp()?;
                match p.keyword()?.as_str() {
                    "PRIV" | "SHARED" | "ALL" => {}
                    _ => return syntax("Expected priv, shared or all"),
                }
                p.sp()?;
            }
            SearchKey::ModSeq(p.mod_sequence(true)?)
        }
        _ => return syntax("Unknown SEARCH key"),
    };
    Ok(key)
}
