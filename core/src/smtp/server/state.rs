//! The machine's states, each holding only what is valid in it.

use super::BodyType;
use super::data::DataDecoder;
use super::timers::DataPace;
use crate::address::{ForwardPath, ReversePath};
use crate::auth::Mechanism;
use crate::envelope::{QueueId, Recipient};
use crate::mail_auth::spf::SpfVerdict;
use crate::smtp::server::MailCommand;
use crate::spam::Query;

/// A mail transaction, from MAIL to the end of DATA (RFC 5321 3.3).
#[derive(Debug)]
pub struct Transaction {
    pub reverse_path: ReversePath,
    pub body: BodyType,
    pub smtputf8: bool,
    pub recipients: Vec<Recipient>,
    /// RCPT commands tried, accepted or not: DATA after only refused
    /// recipients gets 554 rather than 503 (RFC 2920 3.1).
    pub rcpt_attempts: usize,
    /// SPF's verdict, when it was checked at MAIL (`spf_fail =
    /// "refuse"`): the checks at the end of DATA use it rather than ask
    /// again.
    pub spf: Option<SpfVerdict>,
}

/// Where a SASL exchange (RFC 4954) stands while the client owes a
/// response line.
#[derive(Debug)]
pub enum SaslStep {
    /// PLAIN sent without an initial response: the whole response next.
    Plain,
    /// LOGIN: the user name next.
    LoginUser,
    /// LOGIN: the password next.
    LoginPassword { login: String },
}

/// A message being received.
#[derive(Debug)]
pub struct Receiving {
    pub queue_id: QueueId,
    pub decoder: DataDecoder,
    /// The envelope, kept for the log line that reports the message queued.
    pub reverse_path: ReversePath,
    pub forward_paths: Vec<ForwardPath>,
    /// How the transfer keeps up, for the data timer.
    pub pace: DataPace,
    /// SPF's verdict from MAIL, if it was checked there.
    pub spf: Option<SpfVerdict>,
}

#[derive(Debug)]
pub enum State {
    /// No transaction: waiting for MAIL (HELO or EHLO first).
    ExpectMail,
    /// MAIL accepted, no recipient yet.
    ExpectRcpt(Transaction),
    /// At least one recipient accepted.
    ExpectRcptOrData(Transaction),
    /// Waiting for the driver to resolve a recipient.
    AwaitingRecipientCheck(Transaction, ForwardPath),
    /// Waiting for the driver to open a spool entry.
    AwaitingOpen(Transaction),
    /// Between 354 and the final `.`.
    ReceivingData(Receiving),
    /// Waiting for the driver to make the message durable.
    AwaitingStore(Receiving),
    /// The data has all arrived: waiting for the checks of where it came
    /// from (SPF, DKIM) before it is committed.
    AwaitingChecks(Receiving),
    /// STARTTLS accepted: waiting for the driver's TLS handshake.
    AwaitingTls,
    /// In a SASL exchange: the next line is a response, not a command.
    AuthResponse(SaslStep),
    /// Waiting for the driver to check a login.
    AwaitingAuth {
        mechanism: Mechanism,
        login: String,
    },
    /// A failed login's reply is held back until the
    /// [`AuthDelay`](super::timers::Timer::AuthDelay) timer, to slow down
    /// guessing; input waits.
    AuthDelay,
    /// Before the greeting: waiting for the client's blocklist lookups.
    AwaitingClientBlocklists(Vec<Query>),
    /// MAIL otherwise acceptable: waiting for the sender domain's
    /// blocklist lookups.
    AwaitingSenderBlocklists(MailCommand, Vec<Query>),
    /// MAIL otherwise acceptable: waiting for SPF (`spf_fail =
    /// "refuse"`).
    AwaitingSpf(MailCommand),
    /// A recipient the directory accepted: waiting for the greylist.
    AwaitingGreylist(Transaction, Recipient),
    /// A local recipient the directory accepted: waiting for its
    /// mailbox's allow and block lists.
    AwaitingSenderLists(Transaction, Recipient),
    /// The client is listed and was greeted with `554`: only QUIT is
    /// answered (RFC 5321 3.1).
    Refused,
    Closed,
}

impl State {
    /// True while the machine waits for the client's next line: the
    /// command timer runs.
    pub fn awaits_command(&self) -> bool {
        matches!(
            self,
            State::ExpectMail
                | State::ExpectRcpt(_)
                | State::ExpectRcptOrData(_)
                | State::AuthResponse(_)
                | State::Refused
        )
    }

    /// True while the machine waits for an answer from the driver rather
    /// than for the client.
    pub fn is_awaiting_driver(&self) -> bool {
        matches!(
            self,
            State::AwaitingRecipientCheck(..)
                | State::AwaitingOpen(_)
                | State::AwaitingStore(_)
                | State::AwaitingChecks(_)
                | State::AwaitingTls
                | State::AwaitingAuth { .. }
                | State::AwaitingClientBlocklists(_)
                | State::AwaitingSenderBlocklists(..)
                | State::AwaitingSpf(_)
                | State::AwaitingGreylist(..)
                | State::AwaitingSenderLists(..)
        )
    }
}
