//! The status page's "recent problems": a tracing layer that keeps the
//! last warning and error lines in a [`Metrics`] ring.

use super::Metrics;
use postern_core::limits::STATUS_PROBLEM_LINE_BYTES_MAX;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Keeps every WARN and ERROR event as a line (its control characters
/// escaped, cut to [`STATUS_PROBLEM_LINE_BYTES_MAX`] octets) in the
/// metrics it is given (the process's, [`super::global`], in the
/// server); other levels cost one comparison.
pub struct ProblemLayer {
    metrics: &'static Metrics,
}

impl ProblemLayer {
    pub fn new(metrics: &'static Metrics) -> Self {
        ProblemLayer { metrics }
    }
}

impl<S> Layer<S> for ProblemLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // Levels order by verbosity: ERROR < WARN < INFO.
        if *event.metadata().level() > Level::WARN {
            return;
        }
        let record =
            crate::remote_log::feed::log_record(event, &ctx, STATUS_PROBLEM_LINE_BYTES_MAX);
        self.metrics.problem_logged(record);
    }
}
