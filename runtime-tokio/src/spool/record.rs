//! The formats of spool and state files, decoded with limits and checked.
//!
//! A file on disk is not trusted: a disk error, a partial restore or an
//! editor can leave anything there. Decoding never allocates more than
//! the file's limit ([`SPOOL_RECORD_BYTES_MAX`], [`STATE_FILE_BYTES_MAX`],
//! given to bincode as its limit, so a length prefix of a terabyte is an
//! error and not an abort), and every record is checked for what the
//! queue runner relies on (a state with one entry per recipient, mailbox
//! names that are safe as path components, ...). What fails is
//! [`Damaged`]: the runner moves it aside rather than retrying it.
//!
//! [`decode_spool_record`] and [`decode_state`] are pure functions of a
//! byte slice, so a fuzzer can call them.

use bincode::{Decode, Encode};
use postern_core::address::ForwardPath;
use postern_core::envelope::{Destination, Envelope, LocalMailbox, QueueId};
use postern_core::limits::{
    RECIPIENTS_PER_MESSAGE_MAX, SPOOL_RECORD_BYTES_MAX, STATE_FILE_BYTES_MAX, TRACE_BYTES_MAX,
};
use postern_core::queue::DeliveryState;
use postern_core::text::counted;
use std::fmt;
use std::io;

/// The first bytes of every spool file.
pub const SPOOL_MAGIC: [u8; 8] = *b"PSTNSPL\n";
/// The format of what follows the magic; bump it when [`SpoolRecord`]
/// or the fixed header changes, and teach [`decode_spool_record`] the
/// old one (until the first release, older spools are refused with an
/// error naming both versions). 1: the first; 2: each recipient carries
/// its destination (a local mailbox, or remote for relayed mail); 3: the
/// client info says whether the message was submitted here
/// (`ClientInfo::submitted`), the record ends with its
/// [`SpoolRecord::trace`] and [`SpoolRecord::junk`], and zero octets may
/// pad the record to the length the header gives (room for the trace of
/// a message whose file was started before the end of its data). Both
/// new fields come last, so a version 2 record reads as version 3 with
/// `submitted` false, no trace, and not junk. 4: the fixed header ends
/// with the [`Seal`], because a message is now committed in place, in
/// `queue/`, with one flush (see `spool.rs`); versions 2 and 3 have no
/// seal and read as committed.
pub const SPOOL_FORMAT_VERSION: u16 = 4;
/// The oldest version still read, as described above.
const SPOOL_FORMAT_VERSION_OLDEST: u16 = 2;
/// The version whose record lacks the last three fields.
const SPOOL_FORMAT_VERSION_2: u16 = 2;
/// The first bytes of every state file, and its format version.
pub const STATE_MAGIC: [u8; 8] = *b"PSTNSTA\n";
pub const STATE_FORMAT_VERSION: u16 = 1;
/// Magic and version (u16): enough to know how long the fixed header is.
pub const PREFIX_BYTES: usize = SPOOL_MAGIC.len() + 2;
/// The fixed header of the current version: magic, version, record
/// length (u32), then the seal: the body's length (u64) and its CRC-32
/// (u32), where the body is everything after the fixed header.
pub const HEADER_BYTES: usize = PREFIX_BYTES + 4 + 8 + 4;
/// The fixed header of versions 2 and 3: magic, version, record length.
const HEADER_BYTES_UNSEALED_VERSIONS: usize = PREFIX_BYTES + 4;

/// What a spool file's fixed header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    pub version: u16,
    /// The length of the fixed header itself.
    pub header_bytes: usize,
    /// The length of the record that follows it.
    pub record_length: usize,
    pub seal: Seal,
}

/// Whether a spool file was committed, as its header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seal {
    /// Versions 2 and 3: a file in `queue/` was synced before it was
    /// renamed there, so it is committed.
    Unsealed,
    /// Version 4, still zero: written while the message arrived, never
    /// committed (its client was not told it was stored).
    Open,
    /// Version 4, committed: the body must have this length and CRC-32.
    Closed { body_length: u64, body_crc: u32 },
}

/// What the spool keeps about a message besides its data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SpoolRecord {
    pub queue_id: QueueId,
    /// Seconds since the Unix epoch when the message arrived.
    pub received_at: i64,
    pub envelope: Envelope,
    /// Header fields Postern put on top of the message once all of it
    /// had arrived (`Authentication-Results:`): whoever reads the
    /// message reads these first, then the data. At most
    /// [`TRACE_BYTES_MAX`].
    pub trace: Vec<u8>,
    /// The sender's DMARC policy asked for quarantine (and the instance
    /// enforces it): local copies go to each recipient's Junk folder.
    pub junk: bool,
}

/// Why a spool or state file cannot be used: it is damaged, and reading it
/// again will not help. Carried inside an [`io::Error`] of kind
/// `InvalidData`; see [`damage`].
#[derive(Debug)]
pub struct Damaged(pub String);

impl fmt::Display for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Damaged {}

/// An error saying a file is damaged, for `reason`.
pub fn damaged(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Damaged(reason.into()))
}

/// The reason, if `error` says a file is damaged (rather than that it
/// could not be read just now).
pub fn damage(error: &io::Error) -> Option<&str> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Damaged>())
        .map(|damaged| damaged.0.as_str())
}

fn bincode_config<const LIMIT: usize>() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<LIMIT>,
> {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// The header and record that start a spool file.
pub fn encode_header(record: &SpoolRecord) -> io::Result<Vec<u8>> {
    encode_header_padded(record, 0)
}

/// Room left after the record of a spool file written before its data
/// has all arrived, so that the trace decided at the end fits in place.
pub const TRACE_ROOM_BYTES: usize = TRACE_BYTES_MAX + 8;

/// The header and record, the record padded with zero octets to at least
/// `area` octets (the length the header gives).
pub fn encode_header_padded(record: &SpoolRecord, area: usize) -> io::Result<Vec<u8>> {
    if record.trace.len() > TRACE_BYTES_MAX {
        return Err(io::Error::other("trace fields too large to spool"));
    }
    let mut encoded = bincode::encode_to_vec(record, bincode_config::<SPOOL_RECORD_BYTES_MAX>())
        .map_err(io::Error::other)?;
    if encoded.len() < area {
        encoded.resize(area, 0);
    }
    if encoded.len() > SPOOL_RECORD_BYTES_MAX {
        return Err(io::Error::other("envelope too large to spool"));
    }
    // Within SPOOL_RECORD_BYTES_MAX, which fits a u32.
    let length = encoded.len() as u32;
    let mut header = Vec::with_capacity(HEADER_BYTES + encoded.len());
    header.extend_from_slice(&SPOOL_MAGIC);
    header.extend_from_slice(&SPOOL_FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&length.to_le_bytes());
    header.extend_from_slice(&[0; 12]); // the seal, open
    header.extend_from_slice(&encoded);
    Ok(header)
}

/// Closes the seal of `header` (a fixed header of the current version
/// and what follows): the body, everything after the fixed header, is
/// `body_length` octets with CRC-32 `body_crc`.
pub fn seal(header: &mut [u8], body_length: u64, body_crc: u32) {
    header[PREFIX_BYTES + 4..PREFIX_BYTES + 12].copy_from_slice(&body_length.to_le_bytes());
    header[PREFIX_BYTES + 12..HEADER_BYTES].copy_from_slice(&body_crc.to_le_bytes());
}

/// The length of the fixed header, from the first [`PREFIX_BYTES`]
/// octets of a spool file, once the magic and version are checked.
pub fn header_bytes(prefix: &[u8]) -> io::Result<usize> {
    if prefix.len() < PREFIX_BYTES {
        return Err(damaged(format!(
            "spool file cut short: {} octets, the header alone is {HEADER_BYTES}",
            prefix.len()
        )));
    }
    if prefix[..SPOOL_MAGIC.len()] != SPOOL_MAGIC {
        return Err(damaged("not a Postern spool file (wrong magic)"));
    }
    match u16::from_le_bytes([prefix[8], prefix[9]]) {
        SPOOL_FORMAT_VERSION => Ok(HEADER_BYTES),
        version if (SPOOL_FORMAT_VERSION_OLDEST..SPOOL_FORMAT_VERSION).contains(&version) => {
            Ok(HEADER_BYTES_UNSEALED_VERSIONS)
        }
        version => Err(damaged(format!(
            "spool format version {version}; this Postern reads {SPOOL_FORMAT_VERSION}"
        ))),
    }
}

/// Reads and checks the fixed header at the start of `bytes`.
pub fn fixed_header(bytes: &[u8]) -> io::Result<FixedHeader> {
    let header_bytes = header_bytes(bytes)?;
    let fixed = bytes.get(..header_bytes).ok_or_else(|| {
        damaged(format!(
            "spool file cut short: {} octets, the header alone is {header_bytes}",
            bytes.len()
        ))
    })?;
    let version = u16::from_le_bytes([fixed[8], fixed[9]]);
    let record_length = u32::from_le_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]) as usize;
    if record_length > SPOOL_RECORD_BYTES_MAX {
        return Err(damaged(format!(
            "spool record of {record_length} octets is over the limit of {SPOOL_RECORD_BYTES_MAX}"
        )));
    }
    let seal = if version == SPOOL_FORMAT_VERSION {
        let mut length = [0; 8];
        length.copy_from_slice(&fixed[14..22]);
        let body_length = u64::from_le_bytes(length);
        let body_crc = u32::from_le_bytes([fixed[22], fixed[23], fixed[24], fixed[25]]);
        if body_length == 0 && body_crc == 0 {
            Seal::Open
        } else {
            Seal::Closed {
                body_length,
                body_crc,
            }
        }
    } else {
        Seal::Unsealed
    };
    Ok(FixedHeader {
        version,
        header_bytes,
        record_length,
        seal,
    })
}

/// Decodes and checks the start of a spool file: magic, version, record
/// length and record. What follows the record (the message) is ignored.
pub fn decode_spool_record(bytes: &[u8]) -> io::Result<SpoolRecord> {
    let FixedHeader {
        version,
        header_bytes,
        record_length: length,
        ..
    } = fixed_header(bytes)?;
    let encoded = bytes
        .get(header_bytes..header_bytes + length)
        .ok_or_else(|| {
            damaged(format!(
                "spool file cut short: the record should be {length} octets"
            ))
        })?;
    // A version 2 record lacks only its last three fields, `submitted`
    // (a bool), `trace` (a Vec) and `junk` (a bool): bincode writes
    // `false` and an empty vector as one zero octet each.
    let upgraded;
    let (encoded, length) = if version == SPOOL_FORMAT_VERSION_2 {
        upgraded = [encoded, &[0u8, 0u8, 0u8]].concat();
        (upgraded.as_slice(), length + 3)
    } else {
        (encoded, length)
    };
    let (record, used): (SpoolRecord, usize) =
        bincode::decode_from_slice(encoded, bincode_config::<SPOOL_RECORD_BYTES_MAX>())
            .map_err(|e| damaged(format!("spool record does not decode: {e}")))?;
    if encoded[used..].iter().any(|&b| b != 0) {
        return Err(damaged(format!(
            "spool record is {used} octets, its header says {length}, and what lies between is not padding"
        )));
    }
    if record.trace.len() > TRACE_BYTES_MAX {
        return Err(damaged(format!(
            "trace fields of {} octets, over the limit of {TRACE_BYTES_MAX}",
            record.trace.len()
        )));
    }
    check_envelope(&record.envelope)?;
    Ok(record)
}

/// A whole state file.
pub fn encode_state(state: &DeliveryState) -> io::Result<Vec<u8>> {
    let mut bytes = STATE_MAGIC.to_vec();
    bytes.extend_from_slice(&STATE_FORMAT_VERSION.to_le_bytes());
    bincode::encode_into_std_write(state, &mut bytes, bincode_config::<STATE_FILE_BYTES_MAX>())
        .map_err(io::Error::other)?;
    Ok(bytes)
}

/// Decodes and checks a whole state file.
pub fn decode_state(bytes: &[u8]) -> io::Result<DeliveryState> {
    if bytes.len() > STATE_FILE_BYTES_MAX {
        return Err(damaged(format!(
            "state file of {} octets is over the limit of {STATE_FILE_BYTES_MAX}",
            bytes.len()
        )));
    }
    let body = bytes
        .strip_prefix(&STATE_MAGIC[..])
        .ok_or_else(|| damaged("not a Postern state file (wrong magic)"))?;
    let (version, encoded) = body
        .split_at_checked(2)
        .ok_or_else(|| damaged("state file cut short"))?;
    let version = u16::from_le_bytes([version[0], version[1]]);
    if version != STATE_FORMAT_VERSION {
        return Err(damaged(format!(
            "state format version {version}; this Postern reads {STATE_FORMAT_VERSION}"
        )));
    }
    let (state, used): (DeliveryState, usize) =
        bincode::decode_from_slice(encoded, bincode_config::<STATE_FILE_BYTES_MAX>())
            .map_err(|e| damaged(format!("state does not decode: {e}")))?;
    if used != encoded.len() {
        return Err(damaged(format!(
            "{} after the state",
            counted(encoded.len() - used, "octet", "octets")
        )));
    }
    if state.recipients.len() != state.bounced.len() {
        return Err(damaged(format!(
            "state has {} but {}",
            counted(state.recipients.len(), "recipient", "recipients"),
            counted(state.bounced.len(), "bounce mark", "bounce marks")
        )));
    }
    if let Some(i) = state.recipients.iter().position(|r| r.attempts == u32::MAX) {
        return Err(damaged(format!(
            "state of recipient {i} counts an impossible number of attempts"
        )));
    }
    Ok(state)
}

/// Checks that `state` belongs with `record`: one entry per recipient of
/// the envelope, as the runner indexes them.
pub fn check_state(record: &SpoolRecord, state: &DeliveryState) -> io::Result<()> {
    let (expected, found) = (record.envelope.recipients.len(), state.recipients.len());
    if expected != found || state.bounced.len() != found {
        return Err(damaged(format!(
            "state has {found} recipients ({} bounce marks), the envelope {expected}",
            state.bounced.len()
        )));
    }
    Ok(())
}

/// Checks what the runner relies on in an envelope.
fn check_envelope(envelope: &Envelope) -> io::Result<()> {
    let count = envelope.recipients.len();
    if count == 0 || count > RECIPIENTS_PER_MESSAGE_MAX {
        return Err(damaged(format!(
            "envelope has {count} recipients (1 to {RECIPIENTS_PER_MESSAGE_MAX} expected)"
        )));
    }
    for (i, recipient) in envelope.recipients.iter().enumerate() {
        match (&recipient.destination, &recipient.forward_path) {
            (Destination::Local(mailbox), _) => check_mailbox(mailbox)
                .map_err(|why| damaged(format!("recipient {i}: local mailbox {why}")))?,
            (Destination::Remote, ForwardPath::Postmaster) => {
                return Err(damaged(format!(
                    "recipient {i}: <Postmaster> cannot be remote"
                )));
            }
            (Destination::Remote, ForwardPath::Mailbox(_)) => {}
        }
    }
    Ok(())
}

/// A local mailbox's domain and user name become directories under
/// `mail/`: each must be one plain path component.
fn check_mailbox(mailbox: &LocalMailbox) -> Result<(), String> {
    for (what, name) in [("domain", &mailbox.domain), ("user", &mailbox.user)] {
        let plain = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains(['/', '\0'])
            && !name.chars().any(char::is_control);
        if !plain {
            return Err(format!(
                "{what} {:?} is not a safe directory name",
                postern_core::text::bounded(&postern_core::text::escape_controls(name), 80)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_core::address::{Mailbox, ReversePath};
    use postern_core::envelope::{ClientInfo, Recipient};
    use postern_core::smtp::server::BodyType;
    use postern_core::time::UnixTime;

    fn record(recipients: usize) -> SpoolRecord {
        SpoolRecord {
            queue_id: QueueId(42),
            received_at: 1_700_000_000,
            envelope: Envelope {
                reverse_path: ReversePath::Null,
                recipients: (0..recipients)
                    .map(|i| Recipient {
                        forward_path: ForwardPath::Mailbox(Mailbox {
                            local_part: format!("u{i}"),
                            domain: "example.test".into(),
                        }),
                        destination: Destination::Local(LocalMailbox {
                            domain: "example.test".into(),
                            user: format!("u{i}"),
                        }),
                    })
                    .collect(),
                body: BodyType::SevenBit,
                smtputf8: false,
                client: ClientInfo {
                    helo: "client.test".into(),
                    address: "127.0.0.1".into(),
                    submitted: false,
                },
            },
            trace: Vec::new(),
            junk: false,
        }
    }

    fn reason(error: io::Error) -> String {
        damage(&error)
            .unwrap_or_else(|| panic!("not marked damaged: {error}"))
            .to_owned()
    }

    #[test]
    fn a_record_round_trips_and_data_after_it_is_ignored() {
        let record = record(3);
        let mut bytes = encode_header(&record).unwrap();
        bytes.extend_from_slice(b"Subject: hi\r\n\r\nbody\r\n");
        assert_eq!(decode_spool_record(&bytes).unwrap(), record);
    }

    #[test]
    fn a_padded_record_reads_the_same_and_anything_but_zeros_is_damage() {
        let mut record = record(2);
        let padded = encode_header_padded(&record, 200 + TRACE_ROOM_BYTES).unwrap();
        assert_eq!(padded.len(), HEADER_BYTES + 200 + TRACE_ROOM_BYTES);
        assert_eq!(decode_spool_record(&padded).unwrap(), record);
        // The trace fits in the room, in place: the header says the same.
        record.trace = b"Authentication-Results: x; dkim=pass\r\n".to_vec();
        let rewritten = encode_header_padded(&record, 200 + TRACE_ROOM_BYTES).unwrap();
        assert_eq!(rewritten.len(), padded.len());
        assert_eq!(rewritten[..HEADER_BYTES], padded[..HEADER_BYTES]);
        assert_eq!(decode_spool_record(&rewritten).unwrap(), record);
        let mut bad = rewritten.clone();
        *bad.last_mut().unwrap() = 1;
        assert!(reason(decode_spool_record(&bad).unwrap_err()).contains("not padding"));
        record.trace = vec![b'x'; TRACE_BYTES_MAX + 1];
        assert!(encode_header(&record).is_err());
    }

    #[test]
    fn the_seal_is_open_until_closed_and_older_versions_have_none() {
        let mut bytes = encode_header(&record(1)).unwrap();
        let open = fixed_header(&bytes).unwrap();
        assert_eq!((open.version, open.header_bytes), (4, HEADER_BYTES));
        assert_eq!(open.seal, Seal::Open);
        seal(&mut bytes, 1234, 0xdead_beef);
        let closed = fixed_header(&bytes).unwrap();
        assert_eq!(
            closed.seal,
            Seal::Closed {
                body_length: 1234,
                body_crc: 0xdead_beef
            }
        );
        assert_eq!(closed.record_length, open.record_length);
        assert_eq!(decode_spool_record(&bytes).unwrap(), record(1));
        // Version 3: the fixed header ends with the record's length.
        let mut old = bytes[..HEADER_BYTES_UNSEALED_VERSIONS].to_vec();
        old[8..10].copy_from_slice(&3u16.to_le_bytes());
        old.extend_from_slice(&bytes[HEADER_BYTES..]);
        let old_header = fixed_header(&old).unwrap();
        assert_eq!(old_header.seal, Seal::Unsealed);
        assert_eq!(old_header.header_bytes, HEADER_BYTES_UNSEALED_VERSIONS);
        assert_eq!(decode_spool_record(&old).unwrap(), record(1));
    }

    #[test]
    fn a_version_2_record_reads_as_not_submitted() {
        let mut record = record(2);
        record.envelope.client.submitted = true;
        let current = encode_header(&record).unwrap();
        // Version 2 wrote the same record without its last three octets,
        // the `submitted` flag, the empty trace and the junk flag, after a
        // fixed header without the seal.
        let mut old = current[..HEADER_BYTES_UNSEALED_VERSIONS].to_vec();
        old.extend_from_slice(&current[HEADER_BYTES..current.len() - 3]);
        old[8..10].copy_from_slice(&2u16.to_le_bytes());
        let length = (current.len() - 3 - HEADER_BYTES) as u32;
        old[10..14].copy_from_slice(&length.to_le_bytes());
        old.extend_from_slice(b"Subject: hi\r\n\r\nbody\r\n");
        record.envelope.client.submitted = false;
        assert_eq!(decode_spool_record(&old).unwrap(), record);
        // Any other version is refused, naming both.
        old[8..10].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(
            reason(decode_spool_record(&old).unwrap_err()),
            "spool format version 1; this Postern reads 4"
        );
    }

    #[test]
    fn a_huge_length_inside_the_record_is_refused_without_allocating_it() {
        // The record's first recipient local part claims 2^40 octets: the
        // varint 0xFD (u64 follows) then 1 << 40.
        let record = record(1);
        let mut bytes = encode_header(&record).unwrap();
        let marker = b"\x02u0";
        let at = bytes.windows(3).position(|w| w == marker).unwrap();
        let mut huge = vec![0xfd];
        huge.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.splice(at..at + 1, huge);
        let length = (bytes.len() - HEADER_BYTES) as u32;
        bytes[10..14].copy_from_slice(&length.to_le_bytes());
        let why = reason(decode_spool_record(&bytes).unwrap_err());
        assert!(why.contains("does not decode"), "{why}");
    }

    #[test]
    fn a_huge_recipient_count_in_a_state_is_refused_without_allocating_it() {
        let mut bytes = STATE_MAGIC.to_vec();
        bytes.extend_from_slice(&STATE_FORMAT_VERSION.to_le_bytes());
        bytes.push(0xfd);
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let why = reason(decode_state(&bytes).unwrap_err());
        assert!(why.contains("does not decode"), "{why}");
    }

    #[test]
    fn damaged_headers_say_what_is_wrong() {
        let good = encode_header(&record(1)).unwrap();
        let mut wrong_magic = good.clone();
        wrong_magic[0] = b'X';
        let mut too_long = good.clone();
        too_long[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut longer_than_file = good.clone();
        longer_than_file[10] += 1;
        for (bytes, expected) in [
            (&good[..5], "cut short"),
            (&wrong_magic[..], "wrong magic"),
            (&too_long[..], "over the limit"),
            (&longer_than_file[..], "cut short"),
        ] {
            let why = reason(decode_spool_record(bytes).unwrap_err());
            assert!(why.contains(expected), "{why} should say {expected}");
        }
    }

    #[test]
    fn unsafe_mailbox_names_and_remote_postmaster_are_damage() {
        let mut traversal = record(1);
        traversal.envelope.recipients[0].destination = Destination::Local(LocalMailbox {
            domain: "..".into(),
            user: "x".into(),
        });
        let mut remote_postmaster = record(1);
        remote_postmaster.envelope.recipients[0] = Recipient {
            forward_path: ForwardPath::Postmaster,
            destination: Destination::Remote,
        };
        let empty = record(0);
        for (record, expected) in [
            (traversal, "not a safe directory name"),
            (remote_postmaster, "cannot be remote"),
            (empty, "0 recipients"),
        ] {
            let bytes = encode_header(&record).unwrap();
            let why = reason(decode_spool_record(&bytes).unwrap_err());
            assert!(why.contains(expected), "{why} should say {expected}");
        }
    }

    #[test]
    fn a_state_must_match_its_envelope() {
        let record = record(2);
        let state = DeliveryState::new(&record.envelope, UnixTime(0));
        let decoded = decode_state(&encode_state(&state).unwrap()).unwrap();
        assert_eq!(decoded, state);
        check_state(&record, &decoded).unwrap();
        let other = DeliveryState::new(&self::record(3).envelope, UnixTime(0));
        let why = reason(check_state(&record, &other).unwrap_err());
        assert!(why.contains("state has 3 recipients"), "{why}");
        let mut uneven = state.clone();
        uneven.bounced.pop();
        let why = reason(decode_state(&encode_state(&uneven).unwrap()).unwrap_err());
        assert!(
            why.contains("state has 2 recipients but 1 bounce mark"),
            "{why}"
        );
        let mut trailing = encode_state(&state).unwrap();
        trailing.push(0);
        let why = reason(decode_state(&trailing).unwrap_err());
        assert!(why.contains("after the state"), "{why}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap stand-in for the fuzz target: every prefix and every
        // single-octet change of a good file decodes or is refused.
        let mut bytes = encode_header(&record(2)).unwrap();
        for end in 0..bytes.len() {
            let _ = decode_spool_record(&bytes[..end]);
        }
        for at in 0..bytes.len() {
            for value in [0x00, 0x7f, 0xfb, 0xfc, 0xfd, 0xfe, 0xff] {
                let old = std::mem::replace(&mut bytes[at], value);
                let _ = decode_spool_record(&bytes);
                bytes[at] = old;
            }
        }
        let mut state =
            encode_state(&DeliveryState::new(&record(2).envelope, UnixTime(0))).unwrap();
        for at in 0..state.len() {
            for value in [0x00, 0x7f, 0xfb, 0xfc, 0xfd, 0xfe, 0xff] {
                let old = std::mem::replace(&mut state[at], value);
                let _ = decode_state(&state);
                state[at] = old;
            }
        }
    }
}
