//! Postern's runtime: carries out what `postern-core` decides.
//!
//! It owns sockets, files, timers and signals. The [`driver`] runs a core
//! machine over any byte stream and is shared with the simulation; the
//! [`spool`], [`maildir`] and [`delivery`] modules keep messages durable and
//! deliver them; [`server`] binds the services and runs sessions.

pub mod accounts;
pub mod config_check;
pub mod config_file;
pub mod control;
pub mod delivery;
pub mod driver;
pub mod environment;
pub mod explain_command;
pub mod finger;
pub mod ftp;
pub mod greylist;
pub mod http;
pub mod imap;
pub mod listen;
pub mod lists;
pub mod log_file;
pub mod logging;
pub mod mail_auth;
pub mod mailbox_command;
pub mod mailbox_rules;
pub mod maildir;
pub mod mailstore;
pub mod metrics;
pub mod news;
pub mod nntp;
pub mod nntp_pull;
pub mod pop3;
pub mod privileges;
pub mod queue_command;
pub mod queue_command_shared;
mod reload;
pub mod remote_log;
pub mod resolver;
pub mod rules_command;
pub mod server;
pub mod spool;
pub mod storage;
pub mod storage_command;
pub mod task;
#[cfg(test)]
mod testing;
pub mod tls;
pub mod tunnel;
pub mod user_command;
