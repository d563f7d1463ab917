//! Whether a form post comes from the webmail's own pages: the check made
//! beside the form token, so that a page on another site cannot act for a
//! logged-in reader even if it learned a token.
//!
//! Browsers say where a request comes from in two headers. `Origin` names
//! the page's origin, but it is `null` whenever the page's referrer policy
//! is `no-referrer` (the Fetch standard's "serializing a request origin"),
//! and the webmail's pages use that policy so that nothing of a message's
//! URL leaks to other sites. `Sec-Fetch-Site` (Fetch Metadata) says
//! `same-origin`, `same-site`, `cross-site` or `none`; a page's script
//! cannot set it, and every current browser sends it.

/// True when a form post may be acted on: `Sec-Fetch-Site`, when sent,
/// says `same-origin`; an `Origin` naming a host names the `Host` the
/// request was sent to; an `Origin` of `null` is taken only with
/// `Sec-Fetch-Site: same-origin`. A request with neither header (an old
/// browser or a mail program) is left to the form token.
pub fn form_from_this_site(
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host: Option<&str>,
) -> bool {
    if let Some(site) = fetch_site {
        if !site.trim().eq_ignore_ascii_case("same-origin") {
            return false;
        }
    }
    let Some(origin) = origin.map(str::trim) else {
        return true;
    };
    if origin == "null" {
        return fetch_site.is_some();
    }
    let Some(host) = host else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host.trim())
}

#[cfg(test)]
mod tests {
    use super::form_from_this_site;

    #[test]
    fn forms_from_this_site_pass_and_others_are_refused() {
        let host = Some("127.0.0.1:8080");
        let rows: [(Option<&str>, Option<&str>, bool); 14] = [
            // What Chromium sends from a page with `no-referrer`.
            (Some("null"), Some("same-origin"), true),
            (Some("http://127.0.0.1:8080"), Some("same-origin"), true),
            (Some("http://127.0.0.1:8080"), None, true),
            (Some("https://127.0.0.1:8080"), None, true),
            (Some("HTTP://127.0.0.1:8080"), None, false),
            (None, None, true),
            (None, Some("same-origin"), true),
            // Another site, however it shows.
            (Some("null"), Some("cross-site"), false),
            (Some("null"), Some("same-site"), false),
            (Some("null"), None, false),
            (Some("http://127.0.0.3:8080"), Some("cross-site"), false),
            (Some("http://evil.test"), None, false),
            (Some("http://127.0.0.1:8080"), Some("cross-site"), false),
            (None, Some("none"), false),
        ];
        for (origin, fetch_site, expected) in rows {
            assert_eq!(
                form_from_this_site(origin, fetch_site, host),
                expected,
                "Origin {origin:?}, Sec-Fetch-Site {fetch_site:?}"
            );
        }
        assert!(!form_from_this_site(
            Some("http://127.0.0.1:8080"),
            None,
            None
        ));
        assert!(!form_from_this_site(Some("127.0.0.1:8080"), None, host));
    }
}
