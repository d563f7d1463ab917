//! Mailbox names on the wire: modified UTF-7 for IMAP4rev1 sessions
//! (RFC 3501 5.1.3), UTF-8 once IMAP4rev2 or UTF8=ACCEPT is enabled.

use super::machine::ImapServer;
use super::response::Reply;
use crate::imap::codec::mutf7;
use crate::imap::value::Value;

impl ImapServer {
    /// The mailbox name a client wrote, as the store names it: modified
    /// UTF-7 decoded for IMAP4rev1 sessions (RFC 3501 5.1.3), UTF-8 as is
    /// once IMAP4rev2 or UTF8=ACCEPT is on; `INBOX` in any case is INBOX.
    pub(super) fn folder_name(&self, wire: &str) -> Result<String, Reply> {
        let name = if self.utf8_names() {
            wire.to_owned()
        } else {
            mutf7::decode(wire).map_err(|_| {
                Reply::no(Some("CANNOT"), "Mailbox name is not valid modified UTF-7")
            })?
        };
        if name.is_empty() {
            return Err(Reply::no(Some("CANNOT"), "Empty mailbox name"));
        }
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok("INBOX".to_owned());
        }
        if name.len() > 6 && name.is_char_boundary(6) && name[..6].eq_ignore_ascii_case("INBOX.") {
            return Ok(format!("INBOX.{}", &name[6..]));
        }
        Ok(name)
    }

    /// A mailbox name as this session sends it.
    pub(super) fn wire_name(&self, name: &str) -> Value {
        if self.utf8_names() {
            Value::string(name)
        } else {
            Value::string(mutf7::encode(name))
        }
    }

    pub(super) fn utf8_names(&self) -> bool {
        self.enabled.rev2 || self.enabled.utf8
    }
}

/// `NO [NOPERM]`: nothing in the shared namespace (the list archives,
/// [`crate::imap::shared`]) may be changed.
pub(super) fn shared_refusal() -> Reply {
    Reply::no(Some("NOPERM"), "List archives are read-only")
}

/// The refusal of a change to the selected folder opened read-only:
/// `NO [NOPERM]` in a list archive, `NO [CANNOT]` after EXAMINE.
pub(super) fn read_only_refusal(folder: &str) -> Reply {
    if crate::imap::shared::is_shared(folder) {
        shared_refusal()
    } else {
        Reply::no(Some("CANNOT"), "Mailbox is read-only")
    }
}
