//! What a mailbox store answers to IMAP's COPY, MOVE, MULTIAPPEND and
//! QUOTA requests: plain data, so a session machine can take the reply
//! as an input.

use super::{Flags, Keywords, Uid, UidValidity};
use crate::time::UnixTime;

/// RFC 4315 COPYUID: the target's UIDVALIDITY and, in source UID order,
/// each copied message's source and new UID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyResult {
    /// Of the target folder.
    pub uid_validity: UidValidity,
    /// Source UID to new UID, in source UID order.
    pub pairs: Vec<(Uid, Uid)>,
}

/// RFC 6851 MOVE: the copy made and the source UIDs expunged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveResult {
    pub copied: CopyResult,
    pub expunged: Vec<Uid>,
}

/// One message of an APPEND or MULTIAPPEND (RFC 3502), read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// CRLF or LF text.
    pub content: Vec<u8>,
    pub flags: Flags,
    pub keywords: Keywords,
    pub internal_date: UnixTime,
}

/// What a user's mail takes over all folders (RFC 9208 STORAGE and
/// MESSAGE resources).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Octets as clients see them (CRLF), summed.
    pub bytes: u64,
    pub messages: u64,
}
