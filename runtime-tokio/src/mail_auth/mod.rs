//! Mail authentication: the runtime answers the DNS lookups the core's
//! checks ask for.

pub mod spf;
