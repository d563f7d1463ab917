//! The production session driver, unchanged, over turmoil's simulated TCP:
//! the proof that the runtime's code is what the simulation will run.

use postern::driver::{Clock, run_session};
use postern::tls::Transport;
use postern_core::config::DomainConfig;
use postern_core::directory::Directory;
use postern_core::smtp::server::{Server, SessionConfig, SessionInfo};
use postern_sim::MemoryStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

fn store() -> MemoryStore {
    MemoryStore::new(Directory::new(&[DomainConfig {
        name: "example.test".into(),
        users: vec!["alice".into()],
        aliases: Default::default(),
        catch_all: None,
    }]))
}

fn session_config() -> Arc<SessionConfig> {
    Arc::new(SessionConfig {
        hostname: "mx.example.test".into(),
        relay: postern_core::policy::RelayPolicy::None,
        max_message_size: 1_000_000,
        max_recipients: 100,
        max_errors: 10,
        command_timeout: Duration::from_secs(300),
        data_timeout: Duration::from_secs(600),
        min_data_rate: postern_core::limits::MIN_DATA_RATE_DEFAULT,
        max_session_time: postern_core::limits::SESSION_TIME_DEFAULT,
        mail_auth: postern_core::mail_auth::MailAuthMode::Off,
        spf_fail: postern_core::mail_auth::SpfFailAction::Record,
        arc_trusted_sealers: Vec::new(),
        starttls: false,
        auth: postern_core::auth::AuthPolicy::default(),
        max_hops: postern_core::limits::HOPS_DEFAULT,
        spam: postern_core::spam::SpamPolicy::default(),
    })
}

/// Runs one world: an MX host serving sessions with the real driver, and a
/// client that pipelines a message and then idles until the server's
/// timeout. Returns what the client received and what was stored.
fn run_world() -> (String, MemoryStore) {
    let store = store();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(3600))
        // Coarse ticks: the world idles through a 5-minute timeout.
        .tick_duration(Duration::from_millis(50))
        .build();
    let host_store = store.clone();
    sim.host("mx", move || {
        let store = host_store.clone();
        async move {
            let listener = turmoil::net::TcpListener::bind("0.0.0.0:25").await?;
            let (_never_stop, shutdown) = watch::channel(false);
            loop {
                let (stream, remote) = listener.accept().await?;
                let local = stream.local_addr()?;
                let clock = Clock::new();
                let machine = Server::new(
                    session_config(),
                    SessionInfo {
                        local,
                        remote,
                        tls: false,
                    },
                    clock.now(),
                );
                let stream = Transport::Plain(stream);
                run_session(
                    stream,
                    machine,
                    &store,
                    None,
                    clock,
                    shutdown.clone(),
                    |_| {},
                )
                .await;
            }
        }
    });
    let received = Arc::new(std::sync::Mutex::new(String::new()));
    let client_received = Arc::clone(&received);
    sim.client("client", async move {
        let mut stream = turmoil::net::TcpStream::connect("mx:25").await?;
        stream
            .write_all(
                b"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n\
Subject: simulated\r\n\r\n..hello\r\n.\r\nNOOP\r\n",
            )
            .await?;
        // Say nothing more: the server must time out after 5 virtual minutes.
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await?;
        *client_received.lock().unwrap() = String::from_utf8(bytes)?;
        Ok(())
    });
    sim.run().expect("simulation failed");
    let transcript = received.lock().unwrap().clone();
    (transcript, store)
}

#[test]
fn the_production_driver_runs_over_simulated_tcp() {
    let (transcript, store) = run_world();
    let committed = store.committed();
    assert_eq!(committed.len(), 1, "{transcript}");
    let data = String::from_utf8(committed[0].data.clone()).unwrap();
    assert!(data.starts_with("Received: from client.test"), "{data}");
    assert!(
        data.ends_with("Subject: simulated\r\n\r\n.hello\r\n"),
        "{data}"
    );
    assert!(
        transcript.contains("250 2.0.0 Ok: queued as 0000000000001\r\n"),
        "{transcript}"
    );
    // Virtual time: the idle client is dropped by the command timeout.
    assert!(
        transcript.ends_with("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"),
        "{transcript}"
    );
}

#[test]
fn the_same_world_gives_the_same_bytes() {
    let (first, first_store) = run_world();
    let (second, second_store) = run_world();
    assert_eq!(first, second);
    assert_eq!(first_store.committed(), second_store.committed());
}
