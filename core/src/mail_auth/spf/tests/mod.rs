//! SPF tests: the RFC 7208 suite as tables (`suite*.rs`, run by
//! `suite.rs`), unit tables of the parser and macros, and properties.

mod properties;
mod suite;
mod suite1;
mod suite2;
mod suite3;
mod units;
mod zone;
