//! Where the runtime's own tasks run: on tokio's scheduler in production,
//! on the current thread's `LocalSet` in the simulation.
//!
//! The simulation needs the second because of how a host crashes. Turmoil
//! crashes a host by dropping its tokio runtime, and the runtime drops its
//! tasks in an order chosen by their task ids, which tokio numbers from one
//! counter for the whole process. A dropped socket sends its FIN then, and
//! the order of those FINs draws the network's random latencies in a
//! different order: the same seed would give a different trace depending on
//! what else ran in the process before it. A `LocalSet` drops its tasks in
//! the order they were spawned, so a simulated crash replays exactly.

use std::cell::Cell;
use std::future::Future;
use tokio::task::JoinHandle;

thread_local! {
    static LOCAL: Cell<bool> = const { Cell::new(false) };
}

/// Spawns `future` as [`tokio::spawn`] does, or on the current `LocalSet`
/// while a [`LocalTasks`] guard is alive on this thread.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match LOCAL.get() {
        true => tokio::task::spawn_local(future),
        false => tokio::spawn(future),
    }
}

/// While alive, [`spawn`] on this thread puts tasks on the current
/// `LocalSet` (every turmoil host runs in one). The simulation holds one
/// for each run; dropping it restores what was there before.
#[derive(Debug)]
pub struct LocalTasks {
    before: bool,
}

impl LocalTasks {
    pub fn enter() -> Self {
        LocalTasks {
            before: LOCAL.replace(true),
        }
    }
}

impl Drop for LocalTasks {
    fn drop(&mut self) {
        LOCAL.set(self.before);
    }
}
