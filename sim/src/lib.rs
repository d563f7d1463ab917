//! Postern's simulation: simulated twins of the runtime's environment, so
//! that whole networks of mail hosts can run in one process on turmoil,
//! reproducibly.
//!
//! A [`Scenario`] file describes a world: our server (its configuration,
//! each address a simulated host), clients that send mail or flood it
//! with connections, faults at virtual times (crash and restart,
//! partition, hold), and what must come of it. [`run`] plays it on
//! turmoil from a seed, serving every connection with the production
//! `postern::server::Instance` and driver, and checks the invariants:
//! nothing answered `250` is lost, no quota is ever exceeded, no session
//! outlives its client. The same seed gives the same trace, byte for byte.
//!
//! The production delivery runner runs too, through the runtime's
//! `postern::environment` traits: [`outbound::SimEnvironment`] gives it
//! turmoil's TCP, a scripted DNS zone, the virtual wall clock and the
//! in-memory store, and [`remote`] servers take, defer, refuse or lose its
//! mail as their scripts say. Every message answered `250` must end in a
//! mailbox, at a remote server, or bounced; the queue must drain; the
//! smarthost must be used as configured; no outbound quota may be
//! exceeded.
//!
//! Local delivery puts mail in `MemoryStore`'s mailboxes
//! ([`store::mailboxes`]): an in-memory `postern::mailstore::MailboxStore`
//! ([`store::mailbox_store`]) on the rules of `postern_core::mailbox`.
//! POP3 readers ([`scenario::Reader`], `[[read]]` in a scenario) log in to
//! a `kind = "pop3"` instance served by the production POP3 machine and
//! driver, which read the users' INBOXes through
//! `postern::pop3::Maildrops` ([`store::maildrop`]): UIDs, `\Seen`, the
//! maildrop lock, and an update after QUIT that a crash can cut part way.
//! The invariants: nothing not marked deleted is lost, delivered mail is
//! listed by the next session, a deletion answered `+OK` is done, UIDs
//! never repeat and a UIDL always names the same content, sizes are the
//! octets RETR sends, and two sessions never hold one maildrop at once.
//!
//! IMAP clients (`[[imap]]`, [`world::imap_client`]) log in to a
//! `kind = "imap"` instance served by the production IMAP machine and
//! driver over the store's `MailboxStore`; they append, fetch, flag,
//! expunge, IDLE and poll, checking every response against their own
//! model of the folder. The invariants: UIDs strictly increase and are
//! never reused, nothing is lost but by an EXPUNGE asked for, an APPEND
//! answered OK is durable and whole, an OK'd expunge never comes back,
//! every session's view converges to the store's after its last NOOP,
//! and IDLE hears of a delivery within a second.

//!
//! N Postern nodes can share one queue store (`[server] nodes`,
//! [`store::shared_queue`]): each runs the production delivery runner on
//! its own view, claiming messages with leases on the virtual clock (the
//! core's `LeaseTable`), with every write fenced by the claiming token.
//! Nodes crash, pause past their leases and lose the store; the
//! invariants: nothing acknowledged is lost, no two nodes hold a lease on
//! one message at once, fenced writes never land, local delivery is
//! exactly once, and a remote recipient gets a message once, plus at most
//! once more for each lease on it that ran out.

pub mod outbound;
pub mod remote;
pub mod scenario;
pub mod store;
pub mod trace;
pub mod world;

pub use scenario::Scenario;
pub use store::{Committed, MemoryStore, PlantedBug};
pub use world::reader::ReadSession;
pub use world::{Options, Report, run};
