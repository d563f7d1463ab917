//! Mailing lists in the world: the store that keeps them and the
//! delivery runner's `ListBook`, and clients that subscribe to a list by
//! mail, as a person does: `subscribe` to the list's request address
//! from their own address, then, once their mail server (a scripted
//! remote) has taken the list's confirmation request, a reply with its
//! token. The list's real command path (double opt-in) runs on our
//! server.

use super::senders::send_one;
use super::{SharedState, lock};
use crate::remote::Ledger;
use crate::scenario::{ListSubscriber, Scenario};
use crate::store::{MAILBOX_STEP, MemoryStore};
use postern::lists::ListBook;
use postern_core::address::{parse_forward_path, parse_reverse_path};
use postern_core::config::Config;
use postern_core::directory::Directory;
use postern_core::lists::ListDefinition;
use postern_core::smtp::client::{ClientConfig, ClientTimeouts, Content, Delivery, TlsPolicy};
use postern_core::smtp::server::BodyType;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How long a subscriber waits for the confirmation request.
const CONFIRMATION_WAIT: Duration = Duration::from_secs(120);
/// How often it looks.
const CONFIRMATION_POLL: Duration = Duration::from_millis(200);

/// The server's store, knowing the config's lists, with the scenario's
/// members in them. With lists, a message the server writes itself takes
/// a step to commit, so that a crash can cut an expansion.
pub(super) fn store_with_lists(
    scenario: &Scenario,
    config: &Config,
    seed: u64,
) -> Result<MemoryStore, String> {
    let lists = &config.lists.lists;
    let mut store = MemoryStore::new(Directory::new(&config.domains).with_lists(lists));
    if !lists.is_empty() {
        store = store.with_inject_step(MAILBOX_STEP);
    }
    store.seed_lists(seed);
    for spec in &scenario.server.list_members {
        if !lists
            .iter()
            .any(|l| l.address() == spec.list.to_lowercase())
        {
            return Err(format!(
                "[[server.list_members]]: {} is no [[list]] of the config",
                spec.list
            ));
        }
        store.add_list_members(&spec.list, &spec.members);
    }
    Ok(store)
}

/// The delivery runner's lists, kept in `store` like the spool and the
/// mailboxes, and their definitions (for the directory).
pub(super) fn book(config: &Config, store: &MemoryStore) -> (Arc<ListBook>, Vec<ListDefinition>) {
    let book = Arc::new(ListBook::with_store(
        &config.server.hostname,
        Arc::new(store.clone()),
    ));
    let definitions = book.reconfigure(config);
    (book, definitions)
}

/// Starts the scenario's list subscribers.
pub(super) fn spawn(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    ledger: &Ledger,
    shared: &SharedState,
) {
    for client in &scenario.list_subscribers {
        let (client, shared, ledger) = (client.clone(), Arc::clone(shared), Arc::clone(ledger));
        let span = tracing::info_span!(parent: None, "host", ip = %client.from);
        sim.client(
            client.from,
            async move {
                run(&client, &ledger, &shared).await;
                lock(&shared).list_clients_done += 1;
                Ok(())
            }
            .instrument(span),
        );
    }
}

/// Subscribes each of the client's addresses in turn.
async fn run(client: &ListSubscriber, ledger: &Ledger, shared: &SharedState) {
    tokio::time::sleep(client.start).await;
    let request = match client.list.split_once('@') {
        Some((local, domain)) => format!("{local}-request@{domain}"),
        None => return,
    };
    let config = Arc::new(ClientConfig {
        hostname: "client.test".to_owned(),
        timeouts: ClientTimeouts::default(),
        credentials: None,
        tls: TlsPolicy::Never,
    });
    for (n, address) in client.addresses.iter().enumerate() {
        let n = n as u32;
        let subscribe = command(address, &request, "subscribe", n);
        if !send(client, &config, address, &request, &subscribe, n).await {
            continue;
        }
        let Some(token) = confirmation(ledger, address).await else {
            tracing::info!("{address}: no confirmation request came");
            continue;
        };
        let reply = command(address, &request, &format!("Re: confirm {token}"), n);
        if send(client, &config, address, &request, &reply, n).await {
            tracing::info!("{address}: confirmed the subscription");
            lock(shared).stats.list_confirmed += 1;
        }
    }
}

/// A message to the request address with `subject` as its command.
fn command(address: &str, request: &str, subject: &str, n: u32) -> Vec<u8> {
    format!(
        "From: <{address}>\r\nTo: <{request}>\r\nSubject: {subject}\r\nMessage-ID: <{n}.{}@subscriber.test>\r\n\r\n",
        subject.len()
    )
    .into_bytes()
}

/// Sends `message` from `address` to `request`; true if it was queued.
async fn send(
    client: &ListSubscriber,
    config: &Arc<ClientConfig>,
    address: &str,
    request: &str,
    message: &[u8],
    n: u32,
) -> bool {
    let (Ok(reverse_path), Ok(recipient)) = (
        parse_reverse_path(&format!("<{address}>"), false),
        parse_forward_path(&format!("<{request}>"), false),
    ) else {
        tracing::info!("{address}: not an address");
        return false;
    };
    let delivery = Delivery {
        reverse_path,
        recipients: vec![recipient],
        size: message.len() as u64,
        body: BodyType::SevenBit,
        smtputf8: false,
        content: Content::declared(BodyType::SevenBit, false),
    };
    matches!(
        send_one(client.to, config, delivery, message, n).await,
        Some((Some(_), _))
    )
}

/// Waits for a remote server to take the list's confirmation request
/// for `address`; answers its token.
async fn confirmation(ledger: &Ledger, address: &str) -> Option<String> {
    let mut waited = Duration::ZERO;
    while waited < CONFIRMATION_WAIT {
        let token = lock(ledger)
            .iter()
            .filter(|t| t.recipients.iter().any(|r| r == address))
            .find_map(|t| token_in(&t.data));
        if token.is_some() {
            return token;
        }
        tokio::time::sleep(CONFIRMATION_POLL).await;
        waited += CONFIRMATION_POLL;
    }
    None
}

/// The 32 hex digits after `Subject: confirm ` in a message.
fn token_in(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let (_, rest) = text.split_once("Subject: confirm ")?;
    let token: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (token.len() == 32).then_some(token)
}
