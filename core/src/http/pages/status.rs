//! The status page: the instances and their connections, the queue and
//! the deliveries, recent errors.

use super::layout;
use maud::html;

/// One listening instance.
pub struct InstanceRow {
    pub name: String,
    pub kind: String,
    pub listen: Vec<String>,
    /// Open now.
    pub connections: i64,
    pub max_connections: u32,
    /// Since the start.
    pub admitted: u64,
    pub refused: u64,
}

/// Everything the status page shows, gathered by the runtime.
pub struct StatusPage {
    pub hostname: String,
    pub version: String,
    /// How long the server has run, written for people (`3h 2m`).
    pub uptime: String,
    pub instances: Vec<InstanceRow>,
    /// Messages in the queue by state (`waiting`, `retrying`, ...).
    pub queue: Vec<(String, u64)>,
    /// Age of the oldest message in the queue, for people; `None` when
    /// the queue is empty.
    pub oldest: Option<String>,
    /// Counts since start (accepted, delivered, deferred, bounced, failed
    /// logins), each with its rate, written for people.
    pub deliveries: Vec<(String, String)>,
    /// The latest warnings and errors of the log, newest last.
    pub recent_errors: Vec<String>,
}

pub fn status_page(page: &StatusPage) -> String {
    let body = html! {
        h1 { "Status of " (page.hostname) }
        p.meta { "Postern " (page.version) ", up " (page.uptime) }
        section {
            h2 { "Instances" }
            table.status {
                thead { tr { th { "Instance" } th { "Kind" } th { "Listening on" } th { "Open" } th { "Admitted" } th { "Refused" } } }
                tbody {
                    @for row in &page.instances {
                        tr {
                            td { (row.name) }
                            td { (row.kind) }
                            td { (row.listen.join(", ")) }
                            td.number { (row.connections) " of " (row.max_connections) }
                            td.number { (row.admitted) }
                            td.number { (row.refused) }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Queue" }
            @if page.queue.iter().all(|(_, n)| *n == 0) {
                p { "The queue is empty." }
            } @else {
                table.status {
                    tbody { @for (state, count) in &page.queue { tr { td { (state) } td.number { (count) } } } }
                }
                @if let Some(oldest) = &page.oldest { p { "Oldest message: " (oldest) } }
            }
        }
        section {
            h2 { "Since start" }
            table.status {
                tbody { @for (what, count) in &page.deliveries { tr { td { (what) } td.number { (count) } } } }
            }
        }
        section {
            h2 { "Recent errors" }
            @if page.recent_errors.is_empty() {
                p { "None." }
            } @else {
                ul.log { @for line in &page.recent_errors { li { code { (line) } } } }
            }
        }
    };
    layout("Status", None, None, body)
}
