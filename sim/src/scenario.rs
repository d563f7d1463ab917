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
//!
//! [[send]]                     # a client host sending mail
//! from = "10.1.0.1"            # (not loopback: turmoil gives every host
//! to = "10.0.0.1:25"           # its own 127/8)
//! messages = 3
//! recipients = ["alice@example.test"]
//!
//! [[flood]]                    # a client host opening idle connections
//! from = "10.1.0.2"
//! to = "10.0.0.1:25"
//! connections = 30
//!
//! [[fault]]                    # at a virtual time, give or take `jitter`
//! at = "2s"
//! kind = "crash"               # crash | restart | partition | repair | hold | release
//! hosts = ["server"]           # "server" is every host of our server
//!
//! [expect]                     # checked after the invariants
//! accepted = 3                 # messages answered 250
//! refused_connections = 25
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
    pub server: ServerSpec,
    #[serde(default, rename = "send")]
    pub senders: Vec<Sender>,
    #[serde(default, rename = "flood")]
    pub floods: Vec<Flood>,
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

impl Scenario {
    pub fn read(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Scenario::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Scenario, String> {
        toml::from_str(text).map_err(|error| error.to_string())
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
