//! The finger query line (RFC 1288 2.3):
//!
//! ```text
//! {Q1} ::= [{W}|{W}{S}{U}]{C}
//! {Q2} ::= [{W}{S}][{U}]{H}{C}
//! {U}  ::= username            {H} ::= @hostname | @hostname{H}
//! {W}  ::= /W                  {S} ::= <SP> | <SP>{S}
//! ```
//!
//! `/W` asks for the verbose answer; `{Q2}` (anything with an `@`) asks
//! this server to forward the query, which it refuses (3.2.1).

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// `/W` was given.
    pub verbose: bool,
    pub target: Target,
}

/// Whom the query is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The empty query: every user.
    List,
    /// One user name (a local part: `alice` for alice@example.com).
    User(String),
    /// `user@host` or `@host`: a forwarding query.
    Forward,
}

/// Why a query line is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// Not UTF-8, or a control character in it.
    BadCharacters,
    /// More than one word, or `/` other than `/W`.
    Malformed,
}

/// Parses one query line, without its line end.
pub fn parse_query(line: &[u8]) -> Result<Query, QueryError> {
    let text = std::str::from_utf8(line).map_err(|_| QueryError::BadCharacters)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(QueryError::BadCharacters);
    }
    let mut rest = text.trim_matches([' ', '\t']);
    let mut verbose = false;
    if let Some(after) = rest.strip_prefix("/W").or_else(|| rest.strip_prefix("/w")) {
        // `/W` is a word of its own: `/Walice` is not a query.
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return Err(QueryError::Malformed);
        }
        verbose = true;
        rest = after.trim_start_matches([' ', '\t']);
    }
    let target = if rest.is_empty() {
        Target::List
    } else if rest.contains([' ', '\t', '/']) {
        return Err(QueryError::Malformed);
    } else if rest.contains('@') {
        Target::Forward
    } else {
        Target::User(rest.to_owned())
    };
    Ok(Query { verbose, target })
}
