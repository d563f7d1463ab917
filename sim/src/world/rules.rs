//! Mailboxes' forwarding and vacation settings in a world: read from the
//! scenario, and where a forwarded message is to be found.

use crate::scenario::MailboxRulesSpec;
use crate::store::MemoryStore;
use postern_core::address::parse_forward_path;
use postern_core::autoreply::MailboxRules;
use postern_core::config::Config;
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::LocalMailbox;

/// The mailbox and settings of one `[[server.rules]]` entry.
pub(super) fn mailbox_rules(
    config: &Config,
    spec: &MailboxRulesSpec,
) -> Result<(LocalMailbox, MailboxRules), String> {
    let mailbox = resolve(&Directory::new(&config.domains), &spec.mailbox)
        .ok_or_else(|| format!("[server] rules: {} is no local user", spec.mailbox))?;
    let rules = MailboxRules::parse(&spec.settings)
        .map_err(|e| format!("[server] rules of {}: {e}", spec.mailbox))?;
    Ok((mailbox, rules))
}

fn resolve(directory: &Directory, address: &str) -> Option<LocalMailbox> {
    let path = parse_forward_path(&format!("<{address}>"), true).ok()?;
    match directory.resolve(&path) {
        RecipientVerdict::Local(mailbox) => Some(mailbox),
        _ => None,
    }
}

/// The local mailboxes (`user@domain`) that `mailbox` forwards to, when
/// it keeps no copy of its own: where its mail is to be found instead.
pub(super) fn forwarded_to(
    store: &MemoryStore,
    directory: &Directory,
    mailbox: &LocalMailbox,
) -> Vec<String> {
    match store.rules(mailbox).and_then(|rules| rules.forward) {
        Some(forward) if !forward.keep => forward
            .to
            .iter()
            .filter_map(|address| resolve(directory, address))
            .map(|target| target.to_string())
            .collect(),
        _ => Vec::new(),
    }
}
