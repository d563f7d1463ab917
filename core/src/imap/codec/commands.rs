//! One framed command to a [`Command`]: the tag, the name, and each
//! command's arguments (RFC 9051 9 and the extensions in command.rs).

use super::ReaderLimits;
use super::fetch::{fetch_items, fetch_modifiers};
use super::parser::{Error, Literal, PResult, Parser, is_tag_char, syntax};
use super::search::{search_program, sort_command, thread_command};
use crate::imap::command::{
    AppendMessage, Command, CommandBody, ListCommand, ListReturn, ListSelection, QresyncParams,
    SelectParams, StatusItem, StoreAction,
};

/// Why a framed command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Failure {
    pub tag: Option<String>,
    pub error: Error,
}

/// Parses one framed command.
pub(super) fn parse_command(
    text: &[u8],
    literals: &mut [Literal],
    limits: &ReaderLimits,
) -> Result<Command, Failure> {
    let mut parser = Parser::new(text, literals, limits);
    let tag = match tag(&mut parser) {
        Ok(tag) => tag,
        Err(error) => return Err(Failure { tag: None, error }),
    };
    match command_body(&mut parser).and_then(|body| parser.end().map(|()| body)) {
        Ok(body) => Ok(Command { tag, body }),
        Err(error) => Err(Failure {
            tag: Some(tag),
            error,
        }),
    }
}

/// The tag at the start of a command's text, if it has a good one.
pub(super) fn tag_of(text: &[u8]) -> Option<String> {
    let mut parser_text = text;
    if let Some(space) = text.iter().position(|&b| b == b' ') {
        parser_text = &text[..space];
    }
    (!parser_text.is_empty() && parser_text.iter().all(|&b| is_tag_char(b)))
        .then(|| String::from_utf8_lossy(parser_text).into_owned())
}

/// The command's name in capitals (`UID FETCH`) from its text, if it has
/// one.
pub(super) fn name_of(text: &[u8]) -> Option<String> {
    let mut words = text.split(|&b| b == b' ').skip(1);
    let word = |bytes: &[u8]| {
        (!bytes.is_empty() && bytes.iter().all(u8::is_ascii_alphabetic))
            .then(|| String::from_utf8_lossy(bytes).to_ascii_uppercase())
    };
    let first = word(words.next()?)?;
    if first == "UID" {
        let second = word(words.next()?)?;
        return Some(format!("UID {second}"));
    }
    Some(first)
}

fn tag(parser: &mut Parser) -> PResult<String> {
    let bytes = parser.take_while(is_tag_char);
    if bytes.is_empty() {
        return syntax("Expected a tag");
    }
    let tag = String::from_utf8_lossy(bytes).into_owned();
    parser.sp()?;
    Ok(tag)
}

fn command_body(p: &mut Parser) -> PResult<CommandBody> {
    let name = p.keyword()?;
    let body = match name.as_str() {
        "CAPABILITY" => CommandBody::Capability,
        "NOOP" => CommandBody::Noop,
        "LOGOUT" => CommandBody::Logout,
        "STARTTLS" => CommandBody::StartTls,
        "NAMESPACE" => CommandBody::Namespace,
        "IDLE" => CommandBody::Idle,
        "CHECK" => CommandBody::Check,
        "CLOSE" => CommandBody::Close,
        "UNSELECT" => CommandBody::Unselect,
        "EXPUNGE" => CommandBody::Expunge,
        "ID" => id(p)?,
        "AUTHENTICATE" => authenticate(p)?,
        "LOGIN" => {
            p.sp()?;
            let user = p.astring()?;
            p.sp()?;
            let password = p.astring()?;
            CommandBody::Login { user, password }
        }
        "ENABLE" => {
            let mut capabilities = Vec::new();
            while p.eat(b' ') {
                p.item()?;
                capabilities.push(p.atom()?.to_owned());
            }
            if capabilities.is_empty() {
                return syntax("ENABLE needs at least one capability");
            }
            CommandBody::Enable(capabilities)
        }
        "SELECT" => {
            let (mailbox, params) = select(p)?;
            CommandBody::Select { mailbox, params }
        }
        "EXAMINE" => {
            let (mailbox, params) = select(p)?;
            CommandBody::Examine { mailbox, params }
        }
        "CREATE" => create(p)?,
        "DELETE" => CommandBody::Delete(one_mailbox(p)?),
        "SUBSCRIBE" => CommandBody::Subscribe(one_mailbox(p)?),
        "UNSUBSCRIBE" => CommandBody::Unsubscribe(one_mailbox(p)?),
        "GETQUOTAROOT" => CommandBody::GetQuotaRoot(one_mailbox(p)?),
        "GETQUOTA" => {
            p.sp()?;
            CommandBody::GetQuota(p.astring()?)
        }
        "SETQUOTA" => set_quota(p)?,
        "RENAME" => {
            p.sp()?;
            let from = p.mailbox()?;
            p.sp()?;
            let to = p.mailbox()?;
            CommandBody::Rename { from, to }
        }
        "LIST" => CommandBody::List(list(p)?),
        "LSUB" => {
            p.sp()?;
            let reference = p.astring()?;
            p.sp()?;
            let pattern = p.list_mailbox()?;
            CommandBody::Lsub { reference, pattern }
        }
        "STATUS" => {
            p.sp()?;
            let mailbox = p.mailbox()?;
            p.sp()?;
            let items = p.list(false, status_item)?;
            CommandBody::Status { mailbox, items }
        }
        "APPEND" => append(p)?,
        "UID" => {
            p.sp()?;
            let name = p.keyword()?;
            if name == "EXPUNGE" {
                p.sp()?;
                CommandBody::UidExpunge(p.sequence_set()?)
            } else {
                selected_command(p, &name, true)?
                    .map_or_else(|| syntax("Unknown UID command"), Ok)?
            }
        }
        _ => selected_command(p, &name, false)?.map_or_else(|| syntax("Unknown command"), Ok)?,
    };
    Ok(body)
}

/// The commands that may follow `UID`: `None` for another name.
fn selected_command(p: &mut Parser, name: &str, uid: bool) -> PResult<Option<CommandBody>> {
    let body = match name {
        "FETCH" => {
            p.sp()?;
            let set = p.sequence_set()?;
            p.sp()?;
            let items = fetch_items(p)?;
            let modifiers = fetch_modifiers(p)?;
            CommandBody::Fetch {
                uid,
                set,
                items,
                modifiers,
            }
        }
        "STORE" => store(p, uid)?,
        "COPY" | "MOVE" => {
            p.sp()?;
            let set = p.sequence_set()?;
            p.sp()?;
            let mailbox = p.mailbox()?;
            if name == "COPY" {
                CommandBody::Copy { uid, set, mailbox }
            } else {
                CommandBody::Move { uid, set, mailbox }
            }
        }
        "SEARCH" => CommandBody::Search {
            uid,
            search: search_program(p)?,
        },
        "SORT" => sort_command(p, uid)?,
        "THREAD" => thread_command(p, uid)?,
        _ => return Ok(None),
    };
    Ok(Some(body))
}

fn one_mailbox(p: &mut Parser) -> PResult<String> {
    p.sp()?;
    p.mailbox()
}

/// RFC 2971: `ID ("name" "value" ...)` or `ID NIL`.
fn id(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    if p.eat_keyword("NIL") {
        return Ok(CommandBody::Id(Vec::new()));
    }
    p.open()?;
    let mut fields = Vec::new();
    while p.peek() != Some(b')') {
        if !fields.is_empty() {
            p.sp()?;
        }
        p.item()?;
        let field = p.astring()?;
        p.sp()?;
        let value = p.nstring()?;
        fields.push((field, value));
    }
    p.close()?;
    Ok(CommandBody::Id(fields))
}

/// `AUTHENTICATE mechanism [initial-response]` (RFC 4959 SASL-IR).
fn authenticate(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let mechanism = p.keyword()?;
    let initial = if p.eat(b' ') {
        let bytes = p.take_while(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
        if bytes.is_empty() {
            return syntax("Expected a base64 initial response or =");
        }
        Some(String::from_utf8_lossy(bytes).into_owned())
    } else {
        None
    };
    Ok(CommandBody::Authenticate { mechanism, initial })
}

/// SELECT and EXAMINE: a mailbox and RFC 7162 parameters.
fn select(p: &mut Parser) -> PResult<(String, SelectParams)> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    let mut params = SelectParams::default();
    if p.eat(b' ') {
        let items = p.list(false, |p| {
            let name = p.keyword()?;
            match name.as_str() {
                "CONDSTORE" => Ok(None),
                "QRESYNC" => {
                    p.sp()?;
                    qresync(p).map(Some)
                }
                _ => syntax("Unknown SELECT parameter"),
            }
        })?;
        for item in items {
            match item {
                None => params.condstore = true,
                Some(qresync) => params.qresync = Some(qresync),
            }
        }
    }
    Ok((mailbox, params))
}

/// RFC 7162 3.2.5: `(uidvalidity modseq [known-uids] [(seq-match)])`.
fn qresync(p: &mut Parser) -> PResult<QresyncParams> {
    p.open()?;
    let uid_validity = p.nz_number()?.get();
    p.sp()?;
    let modseq = p.mod_sequence(false)?;
    let mut known_uids = None;
    let mut seq_match = None;
    if p.eat(b' ') {
        if p.peek() != Some(b'(') {
            known_uids = Some(p.sequence_set()?);
            if p.eat(b' ') && p.peek() != Some(b'(') {
                return syntax("Expected the sequence match data");
            }
        }
        if p.peek() == Some(b'(') {
            p.open()?;
            let sequences = p.sequence_set()?;
            p.sp()?;
            let uids = p.sequence_set()?;
            p.close()?;
            seq_match = Some((sequences, uids));
        }
    }
    p.close()?;
    Ok(QresyncParams {
        uid_validity,
        modseq,
        known_uids,
        seq_match,
    })
}

/// CREATE with RFC 6154 `(USE (\Drafts ...))`.
fn create(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    let mut special_use = Vec::new();
    if p.eat(b' ') {
        let params = p.list(false, |p| {
            if !p.eat_keyword("USE") {
                return syntax("Unknown CREATE parameter");
            }
            p.sp()?;
            p.list(true, |p| {
                p.expect(b'\\', "a special-use attribute")?;
                Ok(format!("\\{}", p.atom()?))
            })
        })?;
        special_use = params.into_iter().flatten().collect();
    }
    Ok(CommandBody::Create {
        mailbox,
        special_use,
    })
}

/// RFC 9208 4.4: `SETQUOTA root (STORAGE 512)`.
fn set_quota(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let root = p.astring()?;
    p.sp()?;
    let limits = p.list(true, |p| {
        let name = p.atom()?.to_owned();
        p.sp()?;
        Ok((name, p.number64()?))
    })?;
    Ok(CommandBody::SetQuota { root, limits })
}

pub(super) fn status_item(p: &mut Parser) -> PResult<StatusItem> {
    let item = match p.keyword()?.as_str() {
        "MESSAGES" => StatusItem::Messages,
        "UIDNEXT" => StatusItem::UidNext,
        "UIDVALIDITY" => StatusItem::UidValidity,
        "UNSEEN" => StatusItem::Unseen,
        "DELETED" => StatusItem::Deleted,
        "SIZE" => StatusItem::Size,
        "RECENT" => StatusItem::Recent,
        "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
        "APPENDLIMIT" => StatusItem::AppendLimit,
        _ => return syntax("Unknown STATUS item"),
    };
    Ok(item)
}

/// LIST with RFC 5258 selection and return options (RFC 5819 STATUS,
/// RFC 6154 SPECIAL-USE) and several patterns.
fn list(p: &mut Parser) -> PResult<ListCommand> {
    p.sp()?;
    let mut selection = ListSelection::default();
    if p.peek() == Some(b'(') {
        let options = p.list(true, |p| p.keyword())?;
        for option in options {
            match option.as_str() {
                "SUBSCRIBED" => selection.subscribed = true,
                "REMOTE" => selection.remote = true,
                "RECURSIVEMATCH" => selection.recursive_match = true,
                "SPECIAL-USE" => selection.special_use = true,
                _ => return syntax("Unknown LIST selection option"),
            }
        }
        // RFC 5258 3.1: RECURSIVEMATCH alone is an error.
        if selection.recursive_match && !selection.subscribed && !selection.special_use {
            return syntax("RECURSIVEMATCH needs another selection option");
        }
        p.sp()?;
    }
    let reference = p.astring()?;
    p.sp()?;
    let patterns = if p.peek() == Some(b'(') {
        p.list(false, Parser::list_mailbox)?
    } else {
        vec![p.list_mailbox()?]
    };
    let mut returns = ListReturn::default();
    if p.eat(b' ') {
        if !p.eat_keyword("RETURN") {
            return syntax("Expected RETURN");
        }
        p.sp()?;
        p.open()?;
        let mut first = true;
        while p.peek() != Some(b')') {
            if !first {
                p.sp()?;
            }
            first = false;
            p.item()?;
            match p.keyword()?.as_str() {
                "SUBSCRIBED" => returns.subscribed = true,
                "CHILDREN" => returns.children = true,
                "SPECIAL-USE" => returns.special_use = true,
                "STATUS" => {
                    p.sp()?;
                    returns.status = p.list(false, status_item)?;
                }
                _ => return syntax("Unknown LIST return option"),
            }
        }
        p.close()?;
    }
    Ok(ListCommand {
        reference,
        patterns,
        selection,
        returns,
    })
}

/// APPEND with RFC 3502 MULTIAPPEND: one or more `[flags] [date-time]
/// literal`, a literal8 (RFC 3516) or `UTF8 (literal)` (RFC 6855 4).
fn append(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let mailbox = p.mailbox()?;
    let mut messages = Vec::new();
    while p.eat(b' ') {
        p.item()?;
        let mut flags = Vec::new();
        if p.peek() == Some(b'(') {
            flags = p.flag_list()?;
            p.sp()?;
        }
        let mut date = None;
        if p.peek() == Some(b'"') {
            date = Some(p.date_time()?);
            p.sp()?;
        }
        let utf8 = p.eat_keyword("UTF8");
        let (content, binary) = if utf8 {
            p.sp()?;
            p.open()?;
            let literal = p.literal(true)?;
            p.close()?;
            literal
        } else {
            p.literal(true)?
        };
        messages.push(AppendMessage {
            flags,
            date,
            content,
            binary,
            utf8,
        });
    }
    if messages.is_empty() {
        return syntax("APPEND needs a message");
    }
    Ok(CommandBody::Append { mailbox, messages })
}

/// STORE: `set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] flags`.
fn store(p: &mut Parser, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let mut unchanged_since = None;
    if p.peek() == Some(b'(') {
        p.open()?;
        if !p.eat_keyword("UNCHANGEDSINCE") {
            return syntax("Unknown STORE modifier");
        }
        p.sp()?;
        unchanged_since = Some(p.mod_sequence(true)?);
        p.close()?;
        p.sp()?;
    }
    let action = if p.eat(b'+') {
        StoreAction::Add
    } else if p.eat(b'-') {
        StoreAction::Remove
    } else {
        StoreAction::Replace
    };
    let silent = match p.keyword()?.as_str() {
        "FLAGS" => false,
        "FLAGS.SILENT" => true,
        _ => return syntax("Expected FLAGS, +FLAGS or -FLAGS"),
    };
    p.sp()?;
    let flags = if p.peek() == Some(b'(') {
        p.flag_list()?
    } else {
        let mut flags = vec![p.flag()?];
        while p.eat(b' ') {
            p.item()?;
            flags.push(p.flag()?);
        }
        flags
    };
    Ok(CommandBody::Store {
        uid,
        set,
        unchanged_since,
        action,
        silent,
        flags,
    })
}
