//! A TCP proxy the test owns, between a node and the database, that the
//! test can cut: a partition between one node and the cluster.
//!
//! - [`Mode::Open`]: bytes pass both ways.
//! - [`Mode::BlackHole`]: nothing passes either way and nothing is
//!   answered; connections stay open (what a network that drops every
//!   packet looks like to a client before TCP gives up), and new ones are
//!   accepted and left waiting. Back to open, what was held passes on,
//!   as after a short partition.
//! - [`Mode::Refuse`]: every connection is closed, new ones are closed as
//!   soon as they are accepted.
//!
//! Threads only: one accepting, two per connection (one each way).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Open,
    BlackHole,
    Refuse,
}

/// How often a waiting thread looks at the mode again.
const TICK: Duration = Duration::from_millis(10);

pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    accepted: Arc<AtomicUsize>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", super::free_port())).unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(Mode::Open));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (shared, counted) = (Arc::clone(&mode), Arc::clone(&accepted));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let mode = Arc::clone(&shared);
                std::thread::spawn(move || serve(client, upstream, mode));
            }
        });
        Proxy {
            addr,
            mode,
            accepted,
        }
    }

    /// The connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

fn mode_of(mode: &Mutex<Mode>) -> Mode {
    *mode.lock().unwrap()
}

/// Waits while the mode is a black hole; answers the mode then.
fn wait_out_black_hole(mode: &Mutex<Mode>) -> Mode {
    loop {
        match mode_of(mode) {
            Mode::BlackHole => std::thread::sleep(TICK),
            other => return other,
        }
    }
}

fn serve(client: TcpStream, upstream: SocketAddr, mode: Arc<Mutex<Mode>>) {
    if wait_out_black_hole(&mode) == Mode::Refuse {
        return; // dropped: closed
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let mode2 = Arc::clone(&mode);
    std::thread::spawn(move || pump(client2, server2, &mode2));
    pump(server, client, &mode);
}

/// Copies `from` to `to` while the mode lets it; closes both when
/// either end closes or the mode is [`Mode::Refuse`].
fn pump(mut from: TcpStream, mut to: TcpStream, mode: &Mutex<Mode>) {
    from.set_read_timeout(Some(TICK)).unwrap();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if wait_out_black_hole(mode) == Mode::Refuse {
            break;
        }
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        };
        // Read before a cut: held until the mode says what becomes of it.
        if wait_out_black_hole(mode) == Mode::Refuse || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
