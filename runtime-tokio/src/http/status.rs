//! The status page and `/metrics`: the process's figures
//! ([`crate::metrics`]) with the instances' listen specs, for whoever the
//! instance's access list admits.

use super::App;
use crate::driver::Backend;
use crate::metrics;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use postern_core::http::pages::{self, InstanceRow, StatusPage};
use std::time::{Duration, SystemTime};

pub(super) fn status_routes<M: Backend>() -> Router<App<M>> {
    Router::new().route("/status", get(status::<M>))
}

pub(super) fn metrics_routes<M: Backend>() -> Router<App<M>> {
    Router::new().route("/metrics", get(metrics_text))
}

async fn metrics_text() -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::global().encode(),
    )
        .into_response()
}

/// `3h 2m`, `5m`, `12s`: for people, to the minute past an hour.
fn for_people(age: Duration) -> String {
    let seconds = age.as_secs();
    let rounded = if seconds >= 3600 {
        Duration::from_secs(seconds / 60 * 60)
    } else {
        Duration::from_secs(seconds)
    };
    humantime::format_duration(rounded).to_string()
}

async fn status<M: Backend>(State(app): State<App<M>>) -> Response {
    let snapshot = metrics::global().snapshot();
    let listings = app.store.instances();
    let instances = snapshot
        .instances
        .iter()
        .map(|figures| {
            let listing = listings.iter().find(|l| l.name == figures.name);
            InstanceRow {
                name: figures.name.clone(),
                kind: figures.kind.clone(),
                listen: listing.map(|l| l.listen.clone()).unwrap_or_default(),
                connections: figures.open,
                max_connections: listing.map_or(0, |l| l.max_connections),
                admitted: figures.admitted,
                refused: figures.refused,
            }
        })
        .collect();
    let (queue, oldest, shared_problem) = queue_rows(&app.store, &snapshot).await;
    let uptime = SystemTime::now()
        .duration_since(snapshot.started)
        .unwrap_or_default();
    let hours = (uptime.as_secs_f64() / 3600.0).max(1.0 / 60.0);
    let per_hour = |count: u64| format!("{count} ({:.0} an hour)", count as f64 / hours);
    let page = StatusPage {
        hostname: app.settings.hostname.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime: for_people(uptime),
        instances,
        queue,
        oldest,
        deliveries: vec![
            ("messages accepted".to_owned(), per_hour(snapshot.accepted)),
            (
                "recipients delivered".to_owned(),
                per_hour(snapshot.delivered),
            ),
            (
                "recipients deferred".to_owned(),
                per_hour(snapshot.deferred),
            ),
            ("recipients bounced".to_owned(), per_hour(snapshot.bounced)),
            (
                "failed logins".to_owned(),
                per_hour(snapshot.login_failures),
            ),
        ],
        recent_errors: shared_problem
            .into_iter()
            .chain(snapshot.recent_problems.iter().map(|record| {
                let mut line = Vec::new();
                record.render(&mut line);
                String::from_utf8_lossy(&line)
                    .trim_start_matches("* ")
                    .trim_end()
                    .to_owned()
            }))
            .collect(),
    };
    Html(pages::status_page(&page)).into_response()
}

/// The queue's rows and the age of its oldest message. On the files
/// backend, the runner's figures: the queue is this process's. On a
/// node of a shared queue, the runner sees only what this node holds:
/// the rows count the whole shared queue (one statement to the
/// database), then this node's share; when the database cannot be read,
/// this node's figures, named as such, and the problem to show.
async fn queue_rows<M: Backend>(
    store: &M,
    snapshot: &metrics::Snapshot,
) -> (Vec<(String, u64)>, Option<String>, Option<String>) {
    let queue = &snapshot.queue;
    let count = |n: usize| n as u64;
    let this_node = |prefix: &str| {
        vec![
            (format!("{prefix}delivering now"), count(queue.delivering)),
            (format!("{prefix}waiting for a retry"), count(queue.waiting)),
            (
                format!("{prefix}unreadable, to be read again"),
                count(queue.unreadable),
            ),
        ]
    };
    let oldest_here = snapshot.oldest_queued_age.map(for_people);
    match store.shared_queue().await {
        None => (this_node(""), oldest_here, None),
        Some(Ok(census)) => {
            let messages = u64::try_from(census.messages).unwrap_or(0);
            let held = u64::try_from(census.held).unwrap_or(0);
            let rows = vec![
                ("in the shared queue (every node)".to_owned(), messages),
                ("being delivered by a node".to_owned(), held),
                (
                    "waiting, held by no node".to_owned(),
                    messages.saturating_sub(held),
                ),
                (
                    "being delivered by this node".to_owned(),
                    count(queue.delivering),
                ),
            ];
            let oldest = census
                .oldest_age
                .map(|age| for_people(Duration::from_secs(u64::try_from(age).unwrap_or(0))));
            (rows, oldest, None)
        }
        Some(Err(error)) => (
            this_node("this node only: "),
            oldest_here,
            Some(format!("the shared queue cannot be read: {error}")),
        ),
    }
}
