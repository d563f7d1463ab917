mod harness;
mod properties;
mod sessions;
mod transcripts;
