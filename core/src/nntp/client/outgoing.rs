//! A local article queued for upstream, and the `Path` check that keeps
//! articles from going back where they came from (RFC 5537 3.3: a relaying
//! agent does not send an article to a site already in its Path).

/// An article waiting to be posted upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The driver's name for it.
    pub id: u64,
    /// The path identities in its `Path` header field, in order.
    pub path: Vec<String>,
}

impl Outgoing {
    /// An outgoing article, its Path read from `article`'s header section.
    pub fn new(id: u64, article: &[u8]) -> Outgoing {
        Outgoing {
            id,
            path: path_names(article),
        }
    }

    /// True if `identity` already handled it.
    pub fn has_been_at(&self, identity: &str) -> bool {
        self.path.iter().any(|p| p.eq_ignore_ascii_case(identity))
    }
}

/// The path identities of `article`'s `Path` header field (RFC 5536
/// 3.1.5: `!`-separated, the newest first; a `!!` or `!.POSTED` diagnostic
/// is not a name). Empty when it has none. Only the header section is
/// read; folded lines are unfolded.
pub fn path_names(article: &[u8]) -> Vec<String> {
    let mut value: Option<Vec<u8>> = None;
    for line in article.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        match (&mut value, line.first()) {
            (Some(value), Some(b' ' | b'\t')) => value.extend_from_slice(line),
            (Some(_), _) => break,
            (None, _) => {
                if line.len() > 5 && line[..5].eq_ignore_ascii_case(b"path:") {
                    value = Some(line[5..].to_vec());
                }
            }
        }
    }
    let Some(value) = value else {
        return Vec::new();
    };
    String::from_utf8_lossy(&value)
        .split('!')
        .map(|name| name.trim())
        .filter(|name| !name.is_empty() && !name.starts_with('.'))
        .map(str::to_owned)
        .collect()
}

/// Header fields an injecting agent adds, which a local article carries
/// from its injection here and which must not go to the upstream: RFC
/// 5537 3.5 has an injecting agent refuse an article whose `Path` shows
/// `.POSTED` or that has `Injection-Info`, and `Xref` holds our own
/// article numbers. The upstream injects the article afresh and adds its
/// own.
const INJECTION_FIELDS: [&str; 6] = [
    "path",
    "injection-info",
    "injection-date",
    "xref",
    "nntp-posting-host",
    "nntp-posting-date",
];

/// `article` as it is to be POSTed upstream: the same, without the
/// header fields of our own injection ([`INJECTION_FIELDS`], folded lines
/// included). The body is untouched.
pub fn article_for_post(article: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(article.len());
    let mut rest = article;
    let mut dropping = false;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let (line, after) = rest.split_at(end);
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            // The end of the header section: the rest goes as it is.
            out.extend_from_slice(rest);
            break;
        }
        if !matches!(content[0], b' ' | b'\t') {
            let name = content.split(|&b| b == b':').next().unwrap_or(&[]);
            dropping = INJECTION_FIELDS
                .iter()
                .any(|field| name.trim_ascii().eq_ignore_ascii_case(field.as_bytes()));
        }
        if !dropping {
            out.extend_from_slice(line);
        }
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_table() {
        let rows: &[(&[u8], &[&str])] = &[
            (
                b"Path: a.example!b.example!not-for-mail\r\n\r\nbody",
                &["a.example", "b.example", "not-for-mail"],
            ),
            (b"From: x\r\npath: here!.POSTED!x\r\n\r\n", &["here", "x"]),
            (b"Path: a!\r\n b!!c\r\nSubject: s\r\n\r\n", &["a", "b", "c"]),
            (b"Subject: none\r\n\r\nPath: body!only\r\n", &[]),
            (b"", &[]),
        ];
        for (article, expected) in rows {
            assert_eq!(
                path_names(article),
                *expected,
                "{:?}",
                String::from_utf8_lossy(article)
            );
        }
    }

    #[test]
    fn injection_fields_are_left_out_of_a_post() {
        let rows: &[(&[u8], &[u8])] = &[
            (
                b"Path: ours!.POSTED!not-for-mail\r\nFrom: a\r\nXref: ours misc.test:3\r\nInjection-Info: ours;\r\n  posting-host=x\r\nSubject: s\r\n\r\nPath: in the body\r\n",
                b"From: a\r\nSubject: s\r\n\r\nPath: in the body\r\n",
            ),
            (b"Subject: s\r\n\r\nbody\r\n", b"Subject: s\r\n\r\nbody\r\n"),
            (b"PATH : x\r\nSubject: s\r\n", b"Subject: s\r\n"),
            (b"Pathological: kept\r\n\r\n", b"Pathological: kept\r\n\r\n"),
            (b"", b""),
        ];
        for (article, expected) in rows {
            assert_eq!(
                String::from_utf8_lossy(&article_for_post(article)),
                String::from_utf8_lossy(expected)
            );
        }
    }

    #[test]
    fn an_article_from_upstream_has_been_there() {
        let from_upstream = Outgoing::new(1, b"Path: News.Upstream.Test!poster\r\n\r\n");
        assert!(from_upstream.has_been_at("news.upstream.test"));
        let local = Outgoing::new(2, b"Path: ours.test!.POSTED!not-for-mail\r\n\r\n");
        assert!(!local.has_been_at("news.upstream.test"));
    }
}
