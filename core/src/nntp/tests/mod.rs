//! Tests of the NNTP machine.
