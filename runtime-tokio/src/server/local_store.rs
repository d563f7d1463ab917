//! The production [`Backend`]: the spool, the mailbox store (Maildir or
//! the database), the directory and the accounts, as the server's sessions reach them.

use crate::accounts::AccountBook;
use crate::driver::{self, Backend};
use crate::pop3::StoreMaildrops;
use crate::resolver::Resolver;
use crate::spool::{Spool, SpoolFile};
use crate::storage::served::ServedMailboxes;
use postern_core::address::ForwardPath;
use postern_core::auth::{AuthVerdict, LoginAttempt};
use postern_core::directory::{Directory, RecipientVerdict};
use postern_core::envelope::Envelope;
use postern_core::finger;
use postern_core::mail_auth::results::Findings;
use postern_core::smtp::server::{CheckRequest, OpenedMessage};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The production [`Backend`]: the spool, the directory and the accounts.
#[derive(Clone)]
pub struct LocalStore {
    pub(super) spool: Arc<Spool>,
    pub(super) directory: Arc<Directory>,
    pub(super) accounts: Arc<AccountBook>,
    pub(super) maildrops: Arc<StoreMaildrops<ServedMailboxes>>,
    /// Which messages are `\Recent` to which IMAP session.
    pub(super) recent: Arc<crate::imap::RecentClaims>,
    /// FTP homes, `DATA_DIR/ftp/<login>/`.
    pub(super) ftp_files: crate::ftp::DiskFiles,
    /// Resolves tunnel targets given by name.
    pub(super) resolver: Resolver,
    /// Where the accounts are (the webmail changes passwords).
    pub(super) data_dir: std::path::PathBuf,
    /// The instances and where they listen, for the status page.
    pub(super) instances: Arc<Vec<driver::InstanceListing>>,
    /// The newsgroups.
    pub(crate) news: crate::news::NewsStore,
    /// The mailing lists, for the one-click unsubscribe.
    pub(super) lists: Arc<crate::lists::ListBook>,
    /// The greylist every SMTP instance shares.
    pub(super) greylist: Arc<crate::greylist::GreylistBook>,
    /// Where each mailbox's settings are (the webmail shows and changes
    /// them).
    pub(super) settings: crate::mailbox_rules::SettingsAt,
}

impl LocalStore {
    /// The same store with a reloaded directory.
    pub(crate) fn with_directory(&self, directory: Arc<Directory>) -> Self {
        LocalStore {
            directory,
            ..self.clone()
        }
    }
}

impl Backend for LocalStore {
    type Message = SpoolFile;
    type Maildrops = StoreMaildrops<ServedMailboxes>;
    type Tunnel = tokio::net::TcpStream;

    async fn check_sender(
        &self,
        request: CheckRequest,
        client: IpAddr,
    ) -> Option<postern_core::mail_auth::spf::SpfVerdict> {
        let now = crate::environment::system_now();
        Some(crate::mail_auth::verify::check_sender(&self.resolver, &request, client, now).await)
    }

    async fn check_message(
        &self,
        request: CheckRequest,
        client: IpAddr,
        message: &mut SpoolFile,
    ) -> Findings {
        use crate::driver::StoredMessage as _;
        let _slot = crate::mail_auth::verify::slot().await;
        let data = match message.contents().await {
            Ok(data) => data,
            Err(error) => {
                tracing::error!(%error, "cannot read a message back for its checks");
                return Findings::default();
            }
        };
        let now = crate::environment::system_now();
        crate::mail_auth::verify::check_message(&self.resolver, &request, client, &data, now).await
    }

    async fn held_posts(&self, login: &str) -> Vec<postern_core::lists::HeldPost> {
        let (lists, login) = (Arc::clone(&self.lists), login.to_owned());
        tokio::task::spawn_blocking(move || lists.held_for(&login))
            .await
            .unwrap_or_default()
    }

    async fn unsubscribe_list_member(&self, token: &str) -> io::Result<Option<(String, String)>> {
        let (lists, token) = (Arc::clone(&self.lists), token.to_owned());
        crate::spool::blocking(move || crate::lists::unsubscribe_by_token(&lists, &token)).await
    }

    async fn readable_archives(
        &self,
        login: &str,
        mailbox: &postern_core::envelope::LocalMailbox,
    ) -> Vec<crate::lists::SharedArchive> {
        // The archives stay in this node's Maildirs: IMAP sessions read
        // the database, so they are not offered there (the start-up log
        // says so; NNTP serves them).
        if matches!(
            self.maildrops.store().as_ref(),
            ServedMailboxes::Postgres(_)
        ) {
            return Vec::new();
        }
        let lists = Arc::clone(&self.lists);
        let addresses = [login.to_owned(), mailbox.to_string()];
        crate::spool::blocking(move || {
            let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
            Ok(lists.readable_archives(&addresses))
        })
        .await
        .unwrap_or_default()
    }

    async fn connect_tunnel(
        &self,
        target: &postern_core::tunnel::Target,
        timeout: Duration,
    ) -> Result<(tokio::net::TcpStream, SocketAddr), String> {
        crate::tunnel::connect(&self.resolver, target, timeout).await
    }

    fn maildrops(&self) -> &StoreMaildrops<ServedMailboxes> {
        &self.maildrops
    }

    type Mailboxes = ServedMailboxes;

    fn mailboxes(&self) -> &ServedMailboxes {
        self.maildrops.store()
    }

    fn recent_claims(&self) -> &crate::imap::RecentClaims {
        &self.recent
    }

    fn wall_now(&self) -> postern_core::time::UnixTime {
        crate::environment::system_now()
    }

    /// Newsgroups and list archives stay in Maildirs on every backend.
    type NewsMailboxes = crate::mailstore::MaildirStore;

    fn news(&self) -> Option<&crate::news::NewsStore> {
        Some(&self.news)
    }

    type FtpFiles = crate::ftp::DiskFiles;

    fn ftp_files(&self) -> &crate::ftp::DiskFiles {
        &self.ftp_files
    }

    type FtpNetwork = crate::ftp::TokioNetwork;

    fn ftp_network(&self) -> &crate::ftp::TokioNetwork {
        &crate::ftp::TokioNetwork
    }

    async fn look_up_blocklists(
        &self,
        names: Vec<String>,
    ) -> Vec<postern_core::spam::LookupAnswer> {
        self.resolver.blocklists(names).await
    }

    fn check_greylist(
        &self,
        triplet: &postern_core::spam::Triplet,
        policy: &postern_core::spam::GreylistPolicy,
    ) -> postern_core::spam::GreylistVerdict {
        self.greylist.check(triplet, policy)
    }

    fn resolve(&self, forward_path: &ForwardPath) -> RecipientVerdict {
        self.directory.resolve(forward_path)
    }

    async fn authenticate(&self, attempt: LoginAttempt, client: IpAddr) -> AuthVerdict {
        self.accounts.authenticate(attempt, client).await
    }

    fn is_admin(&self, login: &str) -> bool {
        self.accounts.is_admin(login)
    }

    async fn shared_queue(&self) -> Option<io::Result<crate::storage::postgres::Census>> {
        Some(self.spool.shared_queue()?.census().await)
    }

    fn instances(&self) -> Arc<Vec<driver::InstanceListing>> {
        Arc::clone(&self.instances)
    }

    fn data_dir(&self) -> Option<std::path::PathBuf> {
        Some(self.data_dir.clone())
    }

    fn database_queue(&self) -> Option<crate::storage::postgres::PgQueue> {
        self.spool.shared_queue().cloned()
    }

    fn accounts_at(&self) -> Option<crate::accounts::AccountsAt> {
        Some(self.accounts.at().clone())
    }

    fn real_name(&self, login: &str) -> Option<String> {
        let accounts = self.accounts.accounts().ok()?;
        accounts.get(login)?.real_name.clone()
    }

    async fn mailbox_rules(
        &self,
        mailbox: &postern_core::envelope::LocalMailbox,
    ) -> Result<postern_core::autoreply::MailboxRules, String> {
        self.settings.load(mailbox).await
    }

    async fn save_mailbox_rules(
        &self,
        mailbox: &postern_core::envelope::LocalMailbox,
        rules: postern_core::autoreply::MailboxRules,
    ) -> Result<postern_core::autoreply::MailboxRules, String> {
        self.settings.save(&self.directory, mailbox, rules).await
    }

    async fn change_password(&self, login: &str, password: &str) -> Result<(), String> {
        crate::accounts::set_password(self.accounts.at(), login, password)
            .await
            .map(|_| ())
    }

    async fn finger(&self, request: &finger::Request) -> Vec<finger::UserInfo> {
        if let Err(error) = self.accounts.refresh().await {
            tracing::error!("finger cannot read the accounts: {error}");
            return Vec::new();
        }
        let accounts = match self.accounts.accounts() {
            Ok(accounts) => accounts,
            Err(error) => {
                tracing::error!("finger cannot read the accounts: {error}");
                return Vec::new();
            }
        };
        let mut users = Vec::new();
        for account in crate::finger::matching(&accounts, request) {
            let store = self.maildrops.store();
            users.push(crate::finger::user_info(account, &self.directory, store.as_ref()).await);
        }
        users
    }

    async fn open(&self, envelope: Envelope) -> io::Result<(OpenedMessage, SpoolFile)> {
        let (queue_id, received_at, file) = self.spool.create(envelope).await?;
        Ok((
            OpenedMessage {
                queue_id,
                received_at,
            },
            file,
        ))
    }
}
