//! The trace of a run: the production code's own log lines, stamped with
//! virtual time and the simulated host they came from.

use std::cell::Cell;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;

/// A buffer every log line of a run is written to.
#[derive(Clone, Default)]
pub struct Trace(Arc<Mutex<Vec<u8>>>);

impl Trace {
    /// A subscriber for the run: INFO and above, virtual time, no colour,
    /// no wall clock, so the same seed gives the same bytes.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_timer(VirtualTime)
            .with_ansi(false)
            .with_target(false)
            .with_level(false)
            .with_max_level(tracing::Level::INFO)
            .finish()
            // turmoil's own lines (binds, crashes) are left out: the
            // runner writes its faults itself.
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("turmoil", tracing::Level::WARN)
                    .with_default(tracing::Level::INFO),
            )
    }

    /// Tells the trace the simulation's time, for lines written from
    /// outside any host (the runner's own).
    pub fn set_now(now: Duration) {
        RUNNER_NOW.with(|cell| cell.set(now));
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl io::Write for Trace {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Trace {
    type Writer = Trace;

    fn make_writer(&'a self) -> Trace {
        self.clone()
    }
}

thread_local! {
    /// The simulation's time as the runner last saw it.
    static RUNNER_NOW: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Seconds of virtual time since the simulation began.
struct VirtualTime;

impl FormatTime for VirtualTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let elapsed = turmoil::sim_elapsed().unwrap_or_else(|| RUNNER_NOW.with(Cell::get));
        write!(w, "{:>9.3}s", elapsed.as_secs_f64())
    }
}
