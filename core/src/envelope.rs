//! What the SMTP session hands to the spool: the envelope of one message,
//! and the queue ID that names it everywhere (replies, logs, file names).

use crate::address::{ForwardPath, ReversePath};
use crate::smtp::server::BodyType;
use bincode::{Decode, Encode};
use std::fmt;
use std::str::FromStr;

/// A message's name in the spool, in log lines and in the `250` reply.
///
/// The runtime allocates them from a counter that starts at the wall
/// clock's microseconds, so they are unique across restarts and sort by
/// arrival. Written as 13 characters of Crockford base 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct QueueId(pub u64);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const QUEUE_ID_CHARS: usize = 13;

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; QUEUE_ID_CHARS];
        for (i, slot) in text.iter_mut().enumerate() {
            let shift = 5 * (QUEUE_ID_CHARS - 1 - i);
            *slot = CROCKFORD[((self.0 >> shift) & 0x1f) as usize];
        }
        // Every byte comes from CROCKFORD, which is ASCII.
        f.write_str(std::str::from_utf8(&text).expect("Crockford digits are ASCII"))
    }
}

/// How many low bits of a queue ID name the node that made it, so that
/// nodes sharing one queue never make the same ID: the last two of its
/// 13 characters.
pub const NODE_ID_BITS: u32 = 10;

/// The highest node ID (`[storage] node_id`).
pub const NODE_ID_MAX: u16 = (1 << NODE_ID_BITS) - 1;

impl QueueId {
    /// The ID node `node` makes next, at wall-clock time `micros`
    /// (microseconds since the Unix epoch), when the last one it made was
    /// `last`: the time in the high bits, or one more than `last`'s time
    /// if the clock has not moved on (or went back), and the node in the
    /// low [`NODE_ID_BITS`]. IDs of one node strictly increase; two nodes'
    /// IDs never meet. A node above [`NODE_ID_MAX`] keeps its low bits
    /// only (the config refuses one).
    pub fn next(last: QueueId, micros: u64, node: u16) -> QueueId {
        let time_max = u64::MAX >> NODE_ID_BITS;
        let time = micros
            .min(time_max)
            .max((last.0 >> NODE_ID_BITS).saturating_add(1).min(time_max));
        QueueId(time << NODE_ID_BITS | u64::from(node & NODE_ID_MAX))
    }

    /// The time in this ID: microseconds since the Unix epoch when it was
    /// made (later by a step or more when the clock had not moved on).
    pub fn micros(self) -> u64 {
        self.0 >> NODE_ID_BITS
    }

    /// The node that made this ID.
    pub fn node(self) -> u16 {
        (self.0 & u64::from(NODE_ID_MAX)) as u16
    }
}

/// The text was not a queue ID in its canonical, upper-case form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidQueueId;

impl fmt::Display for InvalidQueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a queue ID: write the 13 characters (digits and capitals) shown in the logs and in `postern queue list`")
    }
}

impl std::error::Error for InvalidQueueId {}

impl FromStr for QueueId {
    type Err = InvalidQueueId;

    fn from_str(text: &str) -> Result<Self, InvalidQueueId> {
        if text.len() != QUEUE_ID_CHARS {
            return Err(InvalidQueueId);
        }
        let mut value: u64 = 0;
        for byte in text.bytes() {
            let digit = CROCKFORD
                .iter()
                .position(|&c| c == byte)
                .ok_or(InvalidQueueId)?;
            value = value.checked_mul(32).ok_or(InvalidQueueId)? | digit as u64;
        }
        Ok(QueueId(value))
    }
}

/// A local mailbox, by canonical (lower-case) domain and user name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct LocalMailbox {
    pub domain: String,
    pub user: String,
}

impl LocalMailbox {
    /// `user@domain`, both already canonical (lower case).
    pub fn new(user: &str, domain: &str) -> LocalMailbox {
        LocalMailbox {
            domain: domain.to_owned(),
            user: user.to_owned(),
        }
    }
}

impl fmt::Display for LocalMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.domain)
    }
}

/// One accepted recipient: the address the client gave and where it was
/// decided, when it was accepted, that the message goes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Recipient {
    pub forward_path: ForwardPath,
    pub destination: Destination,
}

/// Where a recipient's copy goes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Destination {
    /// A mailbox here.
    Local(LocalMailbox),
    /// Another domain's server: the instance permitted relaying.
    Remote,
}

/// Who sent the message to us.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ClientInfo {
    /// The HELO or EHLO argument.
    pub helo: String,
    /// The client's IP address, as text.
    pub address: String,
    /// The message starts here: its client logged in or sends from a
    /// network the instance trusts to relay, or Postern made it (a bounce,
    /// a list post, an autoreply, a webmail message). Only such messages
    /// are DKIM-signed for our domains; mail from elsewhere that merely
    /// claims one of them never is. Always the last field of the spool
    /// record (see `SPOOL_FORMAT_VERSION` in the runtime).
    pub submitted: bool,
}

/// The envelope of one message (RFC 5321 2.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    pub reverse_path: ReversePath,
    pub recipients: Vec<Recipient>,
    pub body: BodyType,
    pub smtputf8: bool,
    pub client: ClientInfo,
}

impl Envelope {
    /// The mailboxes to deliver to, each once, in a stable order: two
    /// addresses may resolve to the same mailbox (an alias and its user).
    pub fn local_mailboxes(&self) -> Vec<&LocalMailbox> {
        let mut mailboxes: Vec<&LocalMailbox> = self
            .recipients
            .iter()
            .filter_map(|r| match &r.destination {
                Destination::Local(mailbox) => Some(mailbox),
                Destination::Remote => None,
            })
            .collect();
        mailboxes.sort();
        mailboxes.dedup();
        mailboxes
    }

    /// The recipients in other domains, in the order given.
    pub fn remote_recipients(&self) -> impl Iterator<Item = &ForwardPath> {
        self.recipients
            .iter()
            .filter(|r| r.destination == Destination::Remote)
            .map(|r| &r.forward_path)
    }

    /// The trace headers that final delivery adds in front of the message
    /// (RFC 5321 4.4: `Return-Path`; `Delivered-To` is the de facto header
    /// that lets loops be spotted), with the given line ending.
    pub fn delivery_headers(&self, mailbox: &LocalMailbox, line_ending: &str) -> String {
        format!(
            "Return-Path: {}{line_ending}Delivered-To: {mailbox}{line_ending}",
            self.reverse_path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Mailbox;

    #[test]
    fn queue_ids_carry_their_node_and_increase() {
        let now = 1_795_000_000_000_000;
        let first = QueueId::next(QueueId(0), now, 5);
        assert_eq!(first.node(), 5);
        assert_eq!(first.0 >> NODE_ID_BITS, now);
        assert!(first.to_string().ends_with("05"), "{first}");
        // The clock stands still, then goes back: still increasing.
        let second = QueueId::next(first, now, 5);
        let third = QueueId::next(second, now - 1_000_000, 5);
        assert!(first < second && second < third, "{first} {second} {third}");
        assert_eq!(third.node(), 5);
        // Another node at the same instant makes another ID.
        assert_ne!(QueueId::next(QueueId(0), now, 6), first);
        assert_eq!(
            QueueId::next(QueueId(0), now, NODE_ID_MAX).node(),
            NODE_ID_MAX
        );
    }

    #[test]
    fn an_id_from_before_node_bits_is_still_followed_by_a_larger_one() {
        // Spools written before IDs carried a node hold the bare clock.
        let old = QueueId(1_795_000_000_000_000);
        assert!(QueueId::next(old, 1_795_000_000_000_000, 0) > old);
    }

    #[test]
    fn the_clock_at_its_end_does_not_wrap() {
        let last = QueueId::next(QueueId(0), u64::MAX, 3);
        assert_eq!(last.node(), 3);
        assert!(QueueId::next(last, u64::MAX, 3) >= last);
    }

    #[test]
    fn queue_ids_round_trip_through_text() {
        for value in [0, 1, 31, 32, 1_795_212_959_000_000, u64::MAX] {
            let id = QueueId(value);
            let text = id.to_string();
            assert_eq!(text.len(), 13);
            assert_eq!(text.parse(), Ok(id), "{text}");
        }
    }

    #[test]
    fn queue_ids_sort_as_their_text_does() {
        let (a, b) = (
            QueueId(1_795_212_959_000_000),
            QueueId(1_795_212_959_000_001),
        );
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn malformed_queue_ids_are_refused() {
        for text in [
            "",
            "ABC",
            "0000000000000U",
            "000000000000U",
            "ZZZZZZZZZZZZZ",
            "001k0qjrfamjd",
        ] {
            assert_eq!(text.parse::<QueueId>(), Err(InvalidQueueId), "{text}");
        }
    }

    #[test]
    fn local_mailboxes_are_delivered_once_each() {
        let alice = LocalMailbox {
            domain: "x.test".into(),
            user: "alice".into(),
        };
        let to = |local: &str| {
            ForwardPath::Mailbox(Mailbox {
                local_part: local.into(),
                domain: "x.test".into(),
            })
        };
        let envelope = Envelope {
            reverse_path: ReversePath::Null,
            recipients: vec![
                Recipient {
                    forward_path: to("alice"),
                    destination: Destination::Local(alice.clone()),
                },
                Recipient {
                    forward_path: to("info"),
                    destination: Destination::Local(alice.clone()),
                },
                Recipient {
                    forward_path: ForwardPath::Mailbox(Mailbox {
                        local_part: "carol".into(),
                        domain: "elsewhere.test".into(),
                    }),
                    destination: Destination::Remote,
                },
            ],
            body: BodyType::SevenBit,
            smtputf8: false,
            client: ClientInfo {
                helo: "c.test".into(),
                address: "127.0.0.1".into(),
                submitted: false,
            },
        };
        assert_eq!(envelope.local_mailboxes(), vec![&alice]);
        assert_eq!(
            envelope
                .remote_recipients()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["<carol@elsewhere.test>"]
        );
        assert_eq!(
            envelope.delivery_headers(&alice, "\n"),
            "Return-Path: <>\nDelivered-To: alice@x.test\n"
        );
    }
}
