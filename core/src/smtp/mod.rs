//! SMTP session machines (RFC 5321). The server side receives mail; the
//! client side delivers mail to other servers.

pub mod client;
pub mod server;
