//! The HTTP service's decisions: what an instance serves, webmail
//! sessions and their CSRF tokens, how a message is shown (HTML
//! sanitized), what a reply or forward starts with, and the pages
//! themselves (rendered with maud, which escapes every value).
//!
//! The runtime parses HTTP and routes requests (hyper and axum); it asks
//! this module who is logged in, what a page shows and whether a form may
//! be acted on. Nothing here reads a socket, a file or a clock: the time
//! and the random bytes of tokens come in as arguments.

pub mod compose;
pub mod origin;
pub mod pages;
pub mod sanitize;
pub mod session;
pub mod view;

use std::fmt;

/// What an HTTP instance can serve (its `serve` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    /// Reading and sending mail, and the account's own settings.
    Webmail,
    /// The server's state: instances, connections, the queue.
    Status,
    /// `/metrics` in the Prometheus text format.
    Metrics,
    /// The queue and the accounts, for accounts marked admin.
    Admin,
    /// The mailing lists' one-click unsubscribe (RFC 8058).
    Lists,
}

impl Area {
    pub const ALL: [Area; 5] = [
        Area::Webmail,
        Area::Status,
        Area::Metrics,
        Area::Admin,
        Area::Lists,
    ];

    pub fn parse(name: &str) -> Option<Area> {
        Area::ALL
            .into_iter()
            .find(|area| area.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Area::Webmail => "webmail",
            Area::Status => "status",
            Area::Metrics => "metrics",
            Area::Admin => "admin",
            Area::Lists => "lists",
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The areas one instance serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas(u8);

impl Areas {
    pub fn only(area: Area) -> Areas {
        let mut areas = Areas::default();
        areas.insert(area);
        areas
    }

    fn bit(area: Area) -> u8 {
        1 << (area as u8)
    }

    pub fn insert(&mut self, area: Area) {
        self.0 |= Areas::bit(area);
    }

    pub fn contains(self, area: Area) -> bool {
        self.0 & Areas::bit(area) != 0
    }

    /// Webmail and admin need a login; status and metrics do not.
    pub fn takes_logins(self) -> bool {
        self.contains(Area::Webmail) || self.contains(Area::Admin)
    }

    pub fn iter(self) -> impl Iterator<Item = Area> {
        Area::ALL
            .into_iter()
            .filter(move |area| self.contains(*area))
    }
}

impl fmt::Display for Areas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Area::name).collect();
        f.write_str(&names.join(", "))
    }
}

/// What a refused HTTP client is told before the connection closes (the
/// request is not read): `403` when the access list does not admit it,
/// `503` with `Retry-After` when the instance or its host has too many
/// connections (RFC 9110 15.5.4, 15.6.4).
pub fn refusal_response(refusal: crate::admission::Refusal) -> Vec<u8> {
    use crate::admission::Refusal;
    let (status, retry, text) = match refusal {
        Refusal::AccessDenied => (
            "403 Forbidden",
            "",
            "No HTTP service for your address here.\n".to_owned(),
        ),
        Refusal::TooManyConnections { .. } => (
            "503 Service Unavailable",
            "Retry-After: 30\r\n",
            "Too many connections; try again later.\n".to_owned(),
        ),
        Refusal::TooManyFromHost { .. } => (
            "503 Service Unavailable",
            "Retry-After: 30\r\n",
            "Too many connections from your address; try again later.\n".to_owned(),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}
