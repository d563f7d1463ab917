//! Scenario files: a world, a workload, faults and what must come of them.
//!
//! ```toml
//! name = "connection-flood"
//! duration = "10m"             # virtual time the world may run
//!
//! [server]                     # our server: its configuration, as in
//! config = """                 # postern.toml; every address it listens
//! [[service]] ...              # on becomes one simulated host
//! """
//! nodes = ["10.0.0.1", "10.0.0.2"]  # optional: N nodes sharing one queue
//! lease = "10s"                # store, leases on the virtual clock
//!
//! [[send]]                     # a client host sending mail
//! from = "10.1.0.1"            # (not loopback: turmoil gives every host
//! to = "10.0.0.1:25"           # its own 127/8)
//! messages = 3
//! recipients = ["alice@example.test"]
//!
//! [[read]]                     # a client host reading a maildrop over POP3
//! from = "10.1.0.3"            # USER/PASS, STAT, UIDL, RETR all, DELE
//! to = "10.0.0.1:110"          # "all" | "some" (seeded) | "none", QUIT;
//! login = "alice@example.test" # one session every `interval`
//! password = "wonderland"
//! sessions = 4
//! delete = "all"
//! hang_up = false              # true: close after DELE, without QUIT
//!
//! [[finger]]                   # a client host asking a finger instance
//! from = "10.1.0.4"            # one query per session, in turn; the
//! to = "10.0.0.1:79"           # answer is read to the end of file
//! queries = ["alice", "/W alice", "", "bob@far.test"]
//! sessions = 8
//!
//! [[ftp]]                      # a client host using an FTP instance
//! from = "10.1.0.5"            # (plain FTP: auth_without_tls = true)
//! to = "10.0.0.1:21"           # USER/PASS, CWD ../.. (550), PORT to a
//! login = "alice@example.test" # third party (refused), PASV/EPSV + STOR
//! password = "wonderland"      # of `bytes` seeded bytes, NLST/LIST,
//! sessions = 3                 # RETR and compare, QUIT
//! bytes = 4096
//!
//! [[imap]]                     # a client host using an IMAP instance
//! from = "10.1.0.6"            # LOGIN, SELECT, UID FETCH 1:* (UID FLAGS),
//! to = "10.0.0.1:143"          # `append` APPENDs of seeded messages,
//! login = "alice@example.test" # BODY.PEEK[] of each message, STORE
//! password = "wonderland"      # +FLAGS \Seen if `flag`, \Deleted and
//! sessions = 2                 # EXPUNGE on those `expunge` picks, IDLE
//! append = 3                   # for `idle` then DONE, `polls` NOOPs
//! expunge = "some"             # `poll` apart, a last NOOP, LOGOUT; its
//! idle = "10s"                 # view of the folder is checked at every
//! polls = 2                    # response
//!
//! [[news]]                     # a client host using an NNTP instance
//! from = "10.1.0.7"            # AUTHINFO USER/PASS if `login`, `posts`
//! to = "10.0.0.1:119"          # POSTs (each its own Message-ID) spread
//! login = "alice@example.test" # over `groups`, then GROUP / OVER /
//! password = "wonderland"      # ARTICLE of every group, ARTICLE <id>
//! groups = ["local.general"]   # of its posts, QUIT; the groups of
//! refused = ["local.private"]  # `refused` must answer 411 to GROUP
//! sessions = 2
//! posts = 3
//! [[list_subscribe]]           # a client host subscribing by mail:
//! from = "10.1.0.7"            # `subscribe` to the list's request
//! to = "10.0.0.1:25"           # address, then a reply with the token
//! list = "team@example.test"   # its remote mail server took
//! addresses = ["new@good.test"]
//!
//! [[flood]]                    # a client host opening idle connections
//! from = "10.1.0.2"
//! to = "10.0.0.1:25"
//! connections = 30
//!
//! [[remote]]                   # another mail server, scripted
//! name = "mx.remote.test"      # given an A record in the zone
//! address = "10.2.0.1"
//! behaviour = "tempfail"       # accept | tempfail | reject | slow | silent
//! until = "2d"                 #   | drop-during-data; then `then`
//! then = "accept"
//!
//! [[zone]]                     # the simulated DNS
//! name = "remote.test"
//! mx = ["10 mx.remote.test"]
//! txt = ["v=spf1 ip4:10.1.0.1 -all"]   # SPF, DMARC and DKIM records
//!
//! [[fault]]                    # at a virtual time, give or take `jitter`
//! at = "2s"
//! kind = "crash"               # crash | restart | partition | repair | hold | release
//! hosts = ["server"]           # "server" is every host of our server   | pause | resume
//!                              # with `nodes`: "node1", "node2", ...; `and = ["store"]`
//!                              # partitions nodes from the shared store
//!
//! [expect]                     # checked after the invariants
//! accepted = 3                 # messages answered 250
//! refused_connections = 25
//! delivered = 3                # messages taken by remote servers
//! read_sessions = 4            # POP3 sessions that listed a maildrop
//! in_use = 0                   # POP3 sessions told [IN-USE]
//! finger_answered = 6          # finger queries answered with a user
//! ftp_sessions = 3             # FTP sessions that ran their script
//! ftp_refused = 2              # FTP connections turned away (421)
//! imap_sessions = 2            # IMAP sessions that selected their folder
//! imap_converged = 2           # ... whose last NOOP left their view
//!                              #     equal to the store's
//! nntp_posted = 6              # POSTs answered 240
//! ```

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// A scenario, as read from its file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(with = "humantime_serde_lite")]
    pub duration: Duration,
    /// How far virtual time moves per simulation step: coarser for
    /// scenarios that span days.
    #[serde(default = "default_tick", with = "humantime_serde_lite")]
    pub tick: Duration,
    pub server: ServerSpec,
    #[serde(default, rename = "send")]
    pub senders: Vec<Sender>,
    #[serde(default, rename = "read")]
    pub readers: Vec<Reader>,
    #[serde(default, rename = "flood")]
    pub floods: Vec<Flood>,
    #[serde(default, rename = "tunnel_client")]
    pub tunnel_clients: Vec<TunnelClient>,
    #[serde(default, rename = "finger")]
    pub finger_clients: Vec<FingerClient>,
    #[serde(default, rename = "ftp")]
    pub ftp_clients: Vec<FtpClient>,
    #[serde(default, rename = "imap")]
    pub imap_clients: Vec<ImapClient>,
    #[serde(default, rename = "news")]
    pub news_clients: Vec<NewsClient>,
    #[serde(default, rename = "list_subscribe")]
    pub list_subscribers: Vec<ListSubscriber>,
    #[serde(default, rename = "remote")]
    pub remotes: Vec<Remote>,
    #[serde(default, rename = "zone")]
    pub zones: Vec<Zone>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub expect: Expect,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Our server's configuration file, as text.
    pub config: String,
    /// Accounts that may log in with AUTH.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Mailboxes' forwarding and vacation settings.
    #[serde(default)]
    pub rules: Vec<MailboxRulesSpec>,
    /// Mailing lists' members at the start, as `postern list members
    /// add` would add them.
    #[serde(default)]
    pub list_members: Vec<ListMembersSpec>,
    /// N nodes sharing one queue store, each a host at one of these
    /// addresses (the instances then listen without an address); none:
    /// one server, as before.
    #[serde(default)]
    pub nodes: Vec<IpAddr>,
    /// How long a node's claim or renewal of a message's lease lasts, on
    /// the virtual clock (default 60 s, as `[storage] lease`).
    #[serde(default, with = "optional_duration")]
    pub lease: Option<Duration>,
}

/// A client host that subscribes addresses to a mailing list by mail,
/// one after another: `subscribe` to the list's request address from the
/// address, then a reply with the token of the confirmation request the
/// address's mail server (a `[[remote]]`) took.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSubscriber {
    pub from: IpAddr,
    pub to: SocketAddr,
    /// The list's address.
    pub list: String,
    pub addresses: Vec<String>,
    /// Virtual time before the first subscription.
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
}

/// A mailing list's members at the start; each receives every post.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMembersSpec {
    /// The list's address, a `[[list]]` of the config.
    pub list: String,
    pub members: Vec<String>,
}

/// One mailbox's delivery rules, as `postern user forward|vacation` would
/// write them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxRulesSpec {
    /// The user's address (an alias leads to its user).
    pub mailbox: String,
    /// The text of its `postern-rules.toml`.
    pub settings: String,
}

/// A login and its password, in clear: a simulated world has no secrets.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub login: String,
    pub password: String,
    /// What finger shows as the user's name and plan.
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

/// A client host that sends messages one after another, each in its own
/// session, with the core's SMTP client machine and the runtime's driver.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    pub from: IpAddr,
    pub to: SocketAddr,
    #[serde(default = "one")]
    pub messages: u32,
    #[serde(default = "default_sender")]
    pub sender: String,
    pub recipients: Vec<String>,
    /// Message body octets.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Virtual time before the first message.
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    /// Between messages.
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
    /// Logs in with AUTH before sending, as a mail client on a
    /// submission port does.
    pub auth: Option<Account>,
    /// The message's `From:` address, when it has one (for DMARC).
    pub from_header: Option<String>,
}

/// A client host that reads a maildrop over POP3, one session every
/// `interval`: USER/PASS, STAT, UIDL, RETR of every message, DELE of
/// those `delete` picks, QUIT.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reader {
    pub from: IpAddr,
    /// A POP3 instance of our server.
    pub to: SocketAddr,
    pub login: String,
    pub password: String,
    #[serde(default = "one")]
    pub sessions: u32,
    /// Virtual time before the first session.
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    /// From the end of one session to the start of the next.
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
    #[serde(default)]
    pub delete: DeleteChoice,
    /// Closes the connection after its DELEs instead of sending QUIT: a
    /// dropped connection, which must delete nothing.
    #[serde(default)]
    pub hang_up: bool,
}

/// Which of the messages it listed a POP3 reader deletes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteChoice {
    /// Every message: a client that does not keep mail on the server.
    All,
    /// Each message with even odds, drawn from the run's seed.
    Some,
    /// None: a client that keeps mail on the server.
    #[default]
    None,
}

/// A client host that opens connections and keeps them open, idle.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flood {
    pub from: IpAddr,
    pub to: SocketAddr,
    pub connections: u32,
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
}

/// Another mail server on the network, following a script: an MX our
/// server delivers to, or a smarthost.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// Its host name, which the zone resolves to `address`.
    pub name: String,
    pub address: IpAddr,
    #[serde(default = "smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub behaviour: Behaviour,
    /// When `behaviour` ends and `then` begins; never, by default.
    #[serde(default, with = "optional_duration")]
    pub until: Option<Duration>,
    #[serde(default)]
    pub then: Behaviour,
    /// How long a `slow` server waits before each reply.
    #[serde(default = "default_delay", with = "humantime_serde_lite")]
    pub delay: Duration,
    /// A login that must AUTH (PLAIN) before MAIL, as a smarthost asks.
    pub auth: Option<RemoteAuth>,
}

/// What a remote server does with the mail it is offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Takes every message.
    #[default]
    Accept,
    /// 451 to every recipient.
    Tempfail,
    /// 550 to every recipient.
    Reject,
    /// Takes every message, waiting `delay` before each reply.
    Slow,
    /// Accepts the connection and never says a word.
    Silent,
    /// Closes the connection after the first line of message data.
    DropDuringData,
    /// Answers `354` to DATA and then never reads or answers again,
    /// holding the connection open.
    StallDuringData,
    /// Speaks no SMTP: sends back every byte it reads, and closes when
    /// the client has closed its sending half (a tunnel's target).
    Echo,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteAuth {
    pub login: String,
    pub password: String,
}

/// A name in the simulated DNS.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub name: String,
    /// MX records, "PREFERENCE HOST".
    #[serde(default)]
    pub mx: Vec<String>,
    /// A and AAAA records.
    #[serde(default)]
    pub address: Vec<IpAddr>,
    /// TXT records (SPF, DMARC, DKIM keys), each one string.
    #[serde(default)]
    pub txt: Vec<String>,
    /// A failure every question about the name gets instead.
    pub answer: Option<DnsFailure>,
    /// When the failure ends; never, by default.
    #[serde(default, with = "optional_duration")]
    pub until: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsFailure {
    Nxdomain,
    Servfail,
    /// No answer: the question times out.
    Timeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// The hosts stop at once; what was not synced is lost.
    Crash,
    /// Crashed hosts start again.
    Restart,
    /// Connections between the hosts are refused.
    Partition,
    Repair,
    /// Packets between the hosts are held: a silent peer.
    Hold,
    Release,
    /// Nodes stop as a process under SIGSTOP would: every call they make
    /// to the shared store waits, and their links to every other host are
    /// held, until they resume.
    Pause,
    Resume,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(with = "humantime_serde_lite")]
    pub at: Duration,
    /// A swarm moves the fault by up to this much, either way.
    #[serde(default, with = "humantime_serde_lite")]
    pub jitter: Duration,
    pub kind: FaultKind,
    /// Host addresses, or "server" for all of our server's hosts. Two
    /// groups for partition, repair, hold and release.
    pub hosts: Vec<String>,
    #[serde(default)]
    pub and: Vec<String>,
}

/// What must come of the run, beyond the invariants every run checks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Messages answered `250` after their data.
    pub accepted: Option<u32>,
    /// Messages stored by our server.
    pub stored: Option<u32>,
    /// Connections refused at connect (quota or access).
    pub refused_connections: Option<u32>,
    /// Recipients the client ended with as failed: a 5xx at MAIL, RCPT
    /// or the end of data, or a size over the server's SIZE.
    pub refused_recipients: Option<u32>,
    /// Messages remote servers took from ours (bounces included).
    pub delivered: Option<u32>,
    /// Bounces our server queued.
    pub bounces: Option<u32>,
    /// Copies put in local mailboxes.
    pub local: Option<u32>,
    /// Of those, copies put in a Junk folder (quarantined by the mail
    /// authentication checks).
    pub junk: Option<u32>,
    /// POP3 reader sessions that listed a maildrop.
    pub read_sessions: Option<u32>,
    /// POP3 reader sessions turned away with `[IN-USE]`.
    pub in_use: Option<u32>,
    /// Whether the queue must be empty at the end; by default it must.
    pub queue_drains: Option<bool>,
    /// That no mailbox holds two copies of one message; by default it
    /// must not (local delivery is exactly once).
    pub local_copies_once: Option<bool>,
    /// Tunnel client sessions that got back every byte they sent.
    pub tunnel_complete: Option<u32>,
    /// Tunnel client sessions closed cleanly before all came back (the
    /// target unreachable): a prefix of what was sent, never other bytes.
    pub tunnel_cut: Option<u32>,
    /// Finger queries answered with at least one user.
    pub finger_answered: Option<u32>,
    /// Finger connections turned away by the instance's access list or
    /// quotas, before the query was read.
    pub finger_refused: Option<u32>,
    /// Finger queries the instance declined: a forwarding query, a list
    /// where listing is off, or no such user.
    pub finger_declined: Option<u32>,
    /// FTP sessions that logged in and ran their whole script.
    pub ftp_sessions: Option<u32>,
    /// FTP connections turned away (421) by the instance's access list
    /// or quotas.
    pub ftp_refused: Option<u32>,
    /// Files FTP clients uploaded and downloaded back.
    pub ftp_transfers: Option<u32>,
    /// IMAP sessions that logged in and selected their folder.
    pub imap_sessions: Option<u32>,
    /// APPENDs answered `OK`.
    pub imap_appended: Option<u32>,
    /// Messages IMAP sessions saw expunged by their EXPUNGE, answered `OK`.
    pub imap_expunged: Option<u32>,
    /// Deliveries an IDLE session heard of (`EXISTS`) within a second.
    pub imap_idle_notices: Option<u32>,
    /// Sessions whose last NOOP left their view equal to the store's
    /// (the store unchanged while the NOOP ran, so the check applies).
    pub imap_converged: Option<u32>,
    /// NNTP sessions that were greeted and ran their whole script.
    pub nntp_sessions: Option<u32>,
    /// POSTs answered `240`.
    pub nntp_posted: Option<u32>,
    /// POSTs answered `441` (a read-only group, a group not granted).
    pub nntp_refused_posts: Option<u32>,
    /// `GROUP`s of a client's `refused` answered `411`, as they must be.
    pub nntp_refused_groups: Option<u32>,
    /// Articles read with `ARTICLE` and found to agree with `OVER`.
    pub nntp_articles_read: Option<u32>,
    /// Posts the mailing lists distributed (each counted once).
    pub list_posts: Option<u32>,
    /// Members the lists suspended for bouncing.
    pub list_suspended: Option<u32>,
    /// Subscriptions confirmed by mail (the reply queued).
    pub list_confirmed: Option<u32>,
}

/// An NNTP client: each session logs in if it has a login, posts `posts`
/// articles (the n-th to `groups[n % len]`), then reads every group of
/// `groups` (GROUP, OVER, ARTICLE of each number) and each of its posts
/// by Message-ID, asks for each group of `refused` (which must answer
/// `411`), and quits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewsClient {
    pub from: IpAddr,
    pub to: SocketAddr,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "one")]
    pub sessions: u32,
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
    /// Articles POSTed each session.
    #[serde(default)]
    pub posts: u32,
    pub groups: Vec<String>,
    #[serde(default)]
    pub refused: Vec<String>,
}

/// An IMAP client: each session logs in, selects `folder`, lists it,
/// appends, reads, flags, expunges, idles and polls as its keys say, and
/// logs out; every response is checked against its model of the folder.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapClient {
    pub from: IpAddr,
    pub to: SocketAddr,
    pub login: String,
    pub password: String,
    #[serde(default = "inbox")]
    pub folder: String,
    #[serde(default = "one")]
    pub sessions: u32,
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
    /// Messages APPENDed each session, one command each.
    #[serde(default)]
    pub append: u32,
    /// Body octets of each appended message.
    #[serde(default = "default_size")]
    pub append_size: usize,
    /// Fetches every message's body (`BODY.PEEK[]`).
    #[serde(default = "yes")]
    pub fetch: bool,
    /// Marks every message `\Seen` (`STORE 1:n +FLAGS`).
    #[serde(default)]
    pub flag: bool,
    /// Which messages get `\Deleted` before an EXPUNGE.
    #[serde(default)]
    pub expunge: DeleteChoice,
    /// How long to IDLE before DONE; zero: no IDLE.
    #[serde(default, with = "humantime_serde_lite")]
    pub idle: Duration,
    /// NOOPs sent before the last one, `poll` apart.
    #[serde(default)]
    pub polls: u32,
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub poll: Duration,
}

fn inbox() -> String {
    "INBOX".to_owned()
}

fn yes() -> bool {
    true
}

/// A client of a tunnel instance whose target echoes: each session
/// connects, sends `bytes` seeded bytes, closes its sending half and reads
/// until the end of file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelClient {
    pub from: IpAddr,
    pub to: SocketAddr,
    #[serde(default = "one")]
    pub sessions: u32,
    #[serde(default = "default_tunnel_bytes")]
    pub bytes: usize,
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
}

/// A finger client: each session connects, sends one query of `queries`
/// (in turn), reads the answer to the end of file and classifies it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerClient {
    pub from: IpAddr,
    pub to: SocketAddr,
    /// The query lines, without CRLF (`alice`, `/W alice`, `` for a
    /// list, `bob@elsewhere.test`); session N sends query N mod len.
    pub queries: Vec<String>,
    #[serde(default = "one")]
    pub sessions: u32,
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
}

/// An FTP client: each session logs in, uploads a file of seeded bytes,
/// lists its home, downloads the file back, tries a path escape and an
/// active connection to a third party, and quits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpClient {
    pub from: IpAddr,
    pub to: SocketAddr,
    /// An account of `[server] accounts`.
    pub login: String,
    pub password: String,
    #[serde(default = "one")]
    pub sessions: u32,
    /// The size of each uploaded file.
    #[serde(default = "default_tunnel_bytes")]
    pub bytes: usize,
    #[serde(default, with = "humantime_serde_lite")]
    pub start: Duration,
    #[serde(default = "default_interval", with = "humantime_serde_lite")]
    pub interval: Duration,
}

fn default_tunnel_bytes() -> usize {
    4096
}

fn one() -> u32 {
    1
}

fn default_sender() -> String {
    "sender@remote.test".to_owned()
}

fn default_size() -> usize {
    1000
}

fn default_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_tick() -> Duration {
    Duration::from_millis(10)
}

fn smtp_port() -> u16 {
    25
}

fn default_delay() -> Duration {
    Duration::from_secs(30)
}

impl Scenario {
    pub fn read(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Scenario::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Scenario, String> {
        let scenario: Scenario = toml::from_str(text).map_err(|error| error.to_string())?;
        for zone in &scenario.zones {
            zone.mx_records()?;
        }
        if let Some(client) = scenario
            .finger_clients
            .iter()
            .find(|c| c.queries.is_empty())
        {
            return Err(format!(
                "the [[finger]] client from {} has no queries: give it queries = [\"alice\"]",
                client.from
            ));
        }
        if let Some(client) = scenario
            .news_clients
            .iter()
            .find(|c| c.groups.is_empty() || c.login.is_some() != c.password.is_some())
        {
            return Err(format!(
                "the [[news]] client from {} needs groups = [\"...\"], and a password exactly when it has a login",
                client.from
            ));
        }
        if let Some(client) = scenario.ftp_clients.iter().find(|c| {
            !scenario
                .server
                .accounts
                .iter()
                .any(|a| a.login.eq_ignore_ascii_case(&c.login))
        }) {
            return Err(format!(
                "the [[ftp]] client from {} logs in as {}, which is not in [server] accounts: add it there",
                client.from, client.login
            ));
        }
        Ok(scenario)
    }
}

impl Remote {
    /// What the server does at virtual time `now`.
    pub fn behaviour_at(&self, now: Duration) -> Behaviour {
        match self.until {
            Some(until) if now >= until => self.then,
            _ => self.behaviour,
        }
    }
}

impl Zone {
    /// The failure questions about this name get at virtual time `now`.
    pub fn failure_at(&self, now: Duration) -> Option<DnsFailure> {
        match self.until {
            Some(until) if now >= until => None,
            _ => self.answer,
        }
    }

    /// The MX records as (preference, host).
    pub fn mx_records(&self) -> Result<Vec<(u16, String)>, String> {
        self.mx
            .iter()
            .map(|record| {
                let parsed = record
                    .split_once(' ')
                    .and_then(|(preference, host)| Some((preference.parse().ok()?, host.trim())));
                match parsed {
                    Some((preference, host)) if !host.is_empty() => {
                        Ok((preference, host.to_lowercase()))
                    }
                    _ => Err(format!(
                        "zone {}: the MX record \"{record}\" is not \"PREFERENCE HOST\", such as \"10 mx.{}\"",
                        self.name, self.name
                    )),
                }
            })
            .collect()
    }
}

/// Durations as text ("2s", "10m") in scenario files.
mod humantime_serde_lite {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|_| {
            serde::de::Error::custom(format!(
                "\"{text}\" is not a duration; write one such as \"500ms\", \"2s\" or \"10m\""
            ))
        })
    }
}

/// An optional duration as text.
mod optional_duration {
    use serde::Deserializer;
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::humantime_serde_lite::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ftp_client_must_log_in_with_a_known_account() {
        let text = |login: &str| {
            format!(
                r#"
name = "x"
duration = "1m"
[server]
config = ""
accounts = [{{ login = "alice@example.test", password = "p" }}]
[[ftp]]
from = "10.1.0.1"
to = "10.0.0.1:21"
login = "{login}"
password = "p"
"#
            )
        };
        assert!(Scenario::parse(&text("Alice@example.test")).is_ok());
        let error = Scenario::parse(&text("carol@example.test")).unwrap_err();
        assert!(
            error.contains("logs in as carol@example.test, which is not in [server] accounts"),
            "{error}"
        );
    }
}
