//! Each mailbox's settings in the shared database (`mailbox_settings`):
//! its rules (vacation, forwarding, blocked senders; the text of the
//! rules file, `NULL` when none is set) and its vacation's memory of whom
//! it answered (the text of the replied file). Every node's delivery reads
//! them, and the webmail and `postern user vacation|forward|senders` on
//! any node write them.
//!
//! The texts are the files' formats, so core parses and checks them as it
//! does a file's ([`MailboxRules::parse`], [`ReplyMemory::parse`]), with
//! the same bounds. A reply remembered locks the mailbox's row (`SELECT
//! ... FOR UPDATE`) for its read, change and write: two nodes answering
//! for one mailbox at once lose neither entry.

use super::{io_error, pool_error};
use deadpool_postgres::Pool;
use postern_core::autoreply::{MailboxRules, ReplyMemory};
use postern_core::envelope::LocalMailbox;
use postern_core::limits::{MAILBOX_RULES_BYTES_MAX, VACATION_MEMORY_BYTES_MAX};
use postern_core::time::UnixTime;
use std::io;

/// The mailboxes' settings, reached through a pool.
#[derive(Clone)]
pub struct PgSettings {
    pool: Pool,
}

fn damaged(mailbox: &LocalMailbox, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the settings of {mailbox} in the database (mailbox_settings): {why}"),
    )
}

/// At most `max` octets of `text`, cut at a character's boundary.
fn bounded(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl PgSettings {
    pub fn new(pool: Pool) -> Self {
        PgSettings { pool }
    }

    /// The settings of `mailbox`: `None` when it has none; a text that
    /// does not read or check is `InvalidData`, saying why.
    pub async fn rules(&self, mailbox: &LocalMailbox) -> io::Result<Option<MailboxRules>> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(
                "SELECT rules FROM mailbox_settings WHERE domain = $1 AND username = $2",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let Some(text) = row.and_then(|row| row.get::<_, Option<String>>(0)) else {
            return Ok(None);
        };
        if text.len() > MAILBOX_RULES_BYTES_MAX {
            return Err(damaged(
                mailbox,
                format!("longer than {MAILBOX_RULES_BYTES_MAX} octets"),
            ));
        }
        MailboxRules::parse(&text)
            .map(Some)
            .map_err(|why| damaged(mailbox, why))
    }

    /// Writes the settings (checked already) of `mailbox`; with nothing
    /// set, clears them.
    pub async fn write_rules(
        &self,
        mailbox: &LocalMailbox,
        rules: &MailboxRules,
    ) -> io::Result<()> {
        let text = (!rules.is_empty()).then(|| rules.render());
        let client = self.pool.get().await.map_err(pool_error)?;
        client
            .execute(
                "INSERT INTO mailbox_settings (domain, username, rules) VALUES ($1, $2, $3) \
                 ON CONFLICT (domain, username) DO UPDATE SET rules = EXCLUDED.rules",
                &[&mailbox.domain, &mailbox.user, &text],
            )
            .await
            .map_err(|e| io_error(&e))?;
        Ok(())
    }

    /// The vacation memory of `mailbox` (empty if none).
    pub async fn memory(&self, mailbox: &LocalMailbox) -> io::Result<ReplyMemory> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(
                "SELECT replied FROM mailbox_settings WHERE domain = $1 AND username = $2",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let text: String = row.map(|row| row.get(0)).unwrap_or_default();
        Ok(ReplyMemory::parse(bounded(
            &text,
            VACATION_MEMORY_BYTES_MAX,
        )))
    }

    /// Records that `mailbox` replied to `sender` at `now`, pruning the
    /// memory to `days` days, in one transaction under the row's lock.
    pub async fn remember_reply(
        &self,
        mailbox: &LocalMailbox,
        sender: &str,
        now: UnixTime,
        days: u32,
    ) -> io::Result<()> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(|e| io_error(&e))?;
        transaction
            .execute(
                "INSERT INTO mailbox_settings (domain, username) VALUES ($1, $2) \
                 ON CONFLICT (domain, username) DO NOTHING",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let row = transaction
            .query_one(
                "SELECT replied FROM mailbox_settings WHERE domain = $1 AND username = $2 FOR UPDATE",
                &[&mailbox.domain, &mailbox.user],
            )
            .await
            .map_err(|e| io_error(&e))?;
        let text: String = row.get(0);
        let mut memory = ReplyMemory::parse(bounded(&text, VACATION_MEMORY_BYTES_MAX));
        memory.remember(sender, now, days);
        transaction
            .execute(
                "UPDATE mailbox_settings SET replied = $3 WHERE domain = $1 AND username = $2",
                &[&mailbox.domain, &mailbox.user, &memory.render()],
            )
            .await
            .map_err(|e| io_error(&e))?;
        transaction.commit().await.map_err(|e| io_error(&e))
    }
}
