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
    let queue = &snapshot.queue;
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
        queue: vec![
            ("delivering now".to_owned(), queue.delivering as u64),
            ("waiting for a retry".to_owned(), queue.waiting as u64),
            (
                "unreadable, to be read again".to_owned(),
                queue.unreadable as u64,
            ),
        ],
        oldest: snapshot.oldest_queued_age.map(for_people),
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
        recent_errors: snapshot
            .recent_problems
            .iter()
            .map(|record| {
                let mut line = Vec::new();
                record.render(&mut line);
                String::from_utf8_lossy(&line)
                    .trim_start_matches("* ")
                    .trim_end()
                    .to_owned()
            })
            .collect(),
    };
    Html(pages::status_page(&page)).into_response()
}
