//! What `postern explain` finds out before the core explains: with
//! `--dns`, the answers to the blocklist queries the question causes
//! (through the same resolver and nameservers the server uses); and the
//! greylist as stored in the data directory, read without changing it;
//! and the allow and block lists of each local recipient.

use crate::config_file::Loaded;
use postern_core::bind::BindPlan;
use postern_core::explain::{Question, SpamFacts, blocklist_queries};
use std::collections::BTreeMap;

/// The facts for [`postern_core::explain::explain_with`]. A greylist file
/// that cannot be read is reported on standard error and left out.
pub fn spam_facts(
    loaded: &Loaded,
    plan: &BindPlan,
    question: &Question,
    dns: bool,
) -> Result<SpamFacts, String> {
    let greylist = match crate::greylist::read(&loaded.data_dir) {
        Ok(greylist) => Some((greylist, wall_now())),
        Err(why) => {
            eprintln!(
                "postern: the greylist in {} cannot be read ({why}); its verdicts are left out",
                loaded.data_dir.display()
            );
            None
        }
    };
    let (dns, spf) = if dns {
        let names: Vec<String> = blocklist_queries(&loaded.config, plan, question)
            .into_iter()
            .map(|q| q.name)
            .collect();
        (
            Some(look_up(loaded, names)?),
            spf_verdict(loaded, question)?,
        )
    } else {
        (None, None)
    };
    Ok(SpamFacts {
        dns,
        greylist,
        spf,
        sender_lists: sender_lists(loaded, question),
    })
}

/// The allow and block lists of the question's local recipients, by
/// mailbox, from where the server reads them (the mailbox directories, or
/// the shared database on a postgres node). Lists that cannot be read are
/// reported on standard error and left out (the server refuses nobody for
/// them either).
fn sender_lists(
    loaded: &Loaded,
    question: &Question,
) -> BTreeMap<String, postern_core::spam::SenderLists> {
    let directory = postern_core::directory::Directory::new(&loaded.config.domains);
    let mailboxes: Vec<_> = question
        .to
        .iter()
        .filter_map(|to| match directory.resolve(to) {
            postern_core::directory::RecipientVerdict::Local(mailbox) => Some(mailbox),
            _ => None,
        })
        .collect();
    if mailboxes.is_empty() {
        return BTreeMap::new();
    }
    let read = || -> Result<_, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        runtime.block_on(async {
            let settings = crate::mailbox_rules::settings_at(loaded)?;
            let mut found = BTreeMap::new();
            for mailbox in mailboxes {
                match settings.load(&mailbox).await {
                    Ok(rules) => {
                        found.insert(mailbox.to_string(), rules.sender_lists());
                    }
                    Err(why) => eprintln!(
                        "postern: the sender lists of {mailbox} cannot be read ({why}); left out"
                    ),
                }
            }
            Ok(found)
        })
    };
    read().unwrap_or_else(|why| {
        eprintln!("postern: the sender lists cannot be read ({why}); left out");
        BTreeMap::new()
    })
}

/// SPF for the question's sender and client, through the server's
/// resolver (`--dns`); `None` without a sender.
fn spf_verdict(
    loaded: &Loaded,
    question: &Question,
) -> Result<Option<postern_core::mail_auth::spf::SpfVerdict>, String> {
    let Some(reverse_path) = question.from.clone() else {
        return Ok(None);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the DNS lookups: {e}"))?;
    let nameservers = loaded.config.outbound.nameservers.clone();
    let request = postern_core::smtp::server::CheckRequest {
        reverse_path,
        // explain asks no HELO; SPF needs it only for a null sender.
        helo: String::new(),
        receiver: loaded.config.server.hostname.clone(),
        spf: None,
    };
    runtime.block_on(async move {
        let resolver = crate::resolver::Resolver::new(&nameservers)?;
        Ok(Some(
            crate::mail_auth::verify::check_sender(
                &resolver,
                &request,
                question.remote,
                wall_now(),
            )
            .await,
        ))
    })
}

fn look_up(
    loaded: &Loaded,
    names: Vec<String>,
) -> Result<BTreeMap<String, postern_core::spam::LookupAnswer>, String> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the DNS lookups: {e}"))?;
    let nameservers = loaded.config.outbound.nameservers.clone();
    runtime.block_on(async move {
        let resolver = crate::resolver::Resolver::new(&nameservers)?;
        let answers = resolver.blocklists(names.clone()).await;
        Ok(names.into_iter().zip(answers).collect())
    })
}

fn wall_now() -> postern_core::time::UnixTime {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    postern_core::time::UnixTime(i64::try_from(seconds).unwrap_or(i64::MAX))
}
