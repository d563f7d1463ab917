//! The login policy of an instance that always takes logins (POP3, IMAP,
//! FTP, remote logging): logins over TLS unless `auth_without_tls = true`.
//! An instance with neither could never take a login, which is an error
//! naming the key to fix.

use super::{ConfigError, RawService, RawTlsMode, TlsConfig, spanned_error};
use crate::auth::AuthPolicy;

/// What the error says for one kind of instance.
pub(super) struct NoLoginPossible<'a> {
    /// Why, when the instance has no TLS key at all.
    pub without_tls_key: &'a str,
    /// Why, when it says `tls = "none"`.
    pub with_tls_none: &'a str,
    /// The fix.
    pub fix: &'a str,
}

/// Logins always offered and required, over TLS unless
/// `auth_without_tls = true`; reports an instance nobody could log in to.
pub(super) fn always_takes_logins(
    source: &str,
    service: &RawService,
    tls: Option<&TlsConfig>,
    defaults: &AuthPolicy,
    errors: &mut Vec<ConfigError>,
    texts: NoLoginPossible<'_>,
) -> AuthPolicy {
    let without_tls = service
        .auth_without_tls
        .as_ref()
        .is_some_and(|a| *a.get_ref());
    if tls.is_none() && !without_tls {
        match &service.tls {
            None => errors.push(spanned_error(
                source,
                service.kind.span(),
                "kind",
                texts.without_tls_key.to_owned(),
                texts.fix,
            )),
            Some(mode) if matches!(mode.get_ref(), RawTlsMode::None) => errors.push(spanned_error(
                source,
                mode.span(),
                "tls",
                texts.with_tls_none.to_owned(),
                texts.fix,
            )),
            // TLS was asked for but its files are missing: the tls
            // checks have reported that already.
            Some(_) => {}
        }
    }
    AuthPolicy {
        offered: true,
        without_tls,
        required: true,
        ..defaults.clone()
    }
}
