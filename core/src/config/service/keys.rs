//! Keys written where they do not apply: every kind that is not SMTP has
//! keys it refuses (an error at the key's line with the fix), not keys it
//! silently ignores.

use super::{ConfigError, RawService, spanned_error};
use std::ops::Range;

/// A key that does not apply to this kind: its name, where it is written
/// (if it is), and why it does not apply.
pub(super) type Inapplicable<'a> = (&'a str, Option<Range<usize>>, &'a str);

/// Reports each written key of `keys`: "`key`: does not apply to
/// {what}: {why}", with the fix of removing it from this instance.
pub(super) fn report_inapplicable(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
    what: &str,
    keys: &[Inapplicable<'_>],
) {
    let name = service.name.get_ref();
    let kind = service.kind.get_ref();
    for (key, span, why) in keys {
        if let Some(span) = span {
            errors.push(spanned_error(
                source,
                span.clone(),
                key,
                format!("does not apply to {what}: {why}"),
                &format!("remove `{key}` from the [[service]] \"{name}\" (kind = \"{kind}\")"),
            ));
        }
    }
}
