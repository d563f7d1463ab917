//! SMTP session machines (RFC 5321). The server side receives mail; the
//! client side (for outbound delivery) will join it here.

pub mod server;
