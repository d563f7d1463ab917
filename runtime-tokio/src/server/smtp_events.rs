//! What an SMTP session's events become outside the session: the
//! metrics they count and the log lines they write.

use super::Instance;
use postern_core::config::ServiceKind;
use postern_core::smtp::server::{Event, EventLevel};
use std::net::SocketAddr;

impl Instance {
    /// What the metrics count of an SMTP session's events: messages
    /// accepted, and logins refused (whatever the verdict, the machine
    /// reports each as [`Event::AuthFailed`]).
    pub(super) fn count_event(&self, event: &Event) {
        let metrics = crate::metrics::global();
        match event {
            Event::MessageQueued { .. } => metrics.message_accepted(&self.service.name),
            Event::AuthFailed { .. } => metrics.login_failed(match self.service.kind {
                ServiceKind::Submission => crate::metrics::LoginProtocol::Submission,
                _ => crate::metrics::LoginProtocol::Smtp,
            }),
            Event::Blocklisted { listed, .. } => metrics.spam_control(
                &self.service.name,
                match listed {
                    postern_core::spam::Listed::Client(_) => {
                        crate::metrics::SpamVerdict::ClientListed
                    }
                    postern_core::spam::Listed::SenderDomain(_) => {
                        crate::metrics::SpamVerdict::SenderListed
                    }
                },
            ),
            Event::Greylisted { .. } => {
                metrics.spam_control(&self.service.name, crate::metrics::SpamVerdict::Greylisted)
            }
            Event::BlocklistLookupFailed { .. } => metrics.spam_control(
                &self.service.name,
                crate::metrics::SpamVerdict::LookupFailed,
            ),
            Event::Barred { address, .. } => metrics.spam_control(
                &self.service.name,
                match address {
                    postern_core::smtp::server::BarredAddress::Sender(_) => {
                        crate::metrics::SpamVerdict::SenderBarred
                    }
                    postern_core::smtp::server::BarredAddress::Recipient(_) => {
                        crate::metrics::SpamVerdict::RecipientBarred
                    }
                },
            ),
            Event::SenderRefusedByRecipient { .. } => metrics.spam_control(
                &self.service.name,
                crate::metrics::SpamVerdict::SenderRefusedByRecipient,
            ),
            _ => {}
        }
    }
}

/// One log line for a session event, at the level the core gives it:
/// per-command events are debug, messages and endings info. Peer text in
/// the event is already escaped by its `Display`.
pub(super) fn log_event(session: u64, peer: SocketAddr, event: &Event) {
    match (event.level(), event.queue_id()) {
        (EventLevel::Info, Some(queue_id)) => {
            tracing::info!(session, %peer, %queue_id, "{event}")
        }
        (EventLevel::Info, None) => tracing::info!(session, %peer, "{event}"),
        (EventLevel::Debug, Some(queue_id)) => {
            tracing::debug!(session, %peer, %queue_id, "{event}")
        }
        (EventLevel::Debug, None) => tracing::debug!(session, %peer, "{event}"),
    }
}
