//! `arc_trusted_sealers`: the ARC sealers (RFC 8617 7.2) whose passing
//! chain turns a DMARC reject or quarantine of mail received on an SMTP
//! instance into "recorded only".
//!
//! ```toml
//! [[service]]
//! kind = "smtp"
//! mail_auth = "enforce"
//! arc_trusted_sealers = ["lists.example.org", "forwarder.example.net"]
//! ```

use super::{ConfigError, RawService, spanned_error};
use crate::address::domain_key;
use crate::limits::ARC_TRUSTED_SEALERS_MAX;

/// The instance's trusted sealers, lower-case, each once: domain names
/// of two labels or more, at most [`ARC_TRUSTED_SEALERS_MAX`].
pub(super) fn trusted_sealers(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Vec<String> {
    let Some(list) = &service.arc_trusted_sealers else {
        return Vec::new();
    };
    if list.get_ref().len() > ARC_TRUSTED_SEALERS_MAX {
        errors.push(spanned_error(
            source,
            list.span(),
            "arc_trusted_sealers",
            format!(
                "{} sealers; an instance trusts at most {ARC_TRUSTED_SEALERS_MAX}",
                list.get_ref().len()
            ),
            "list only the forwarders and mailing lists you know seal their mail",
        ));
        return Vec::new();
    }
    let mut sealers: Vec<String> = Vec::new();
    for entry in list.get_ref() {
        let name = entry.get_ref().trim_end_matches('.');
        match domain_key(name) {
            Ok(domain) if domain.contains('.') => {
                if sealers.contains(&domain) {
                    errors.push(spanned_error(
                        source,
                        entry.span(),
                        "arc_trusted_sealers",
                        format!("{domain} is listed twice"),
                        "list each sealer once",
                    ));
                } else {
                    sealers.push(domain);
                }
            }
            _ => errors.push(spanned_error(
                source,
                entry.span(),
                "arc_trusted_sealers",
                format!("\"{}\" is not a domain name", entry.get_ref()),
                "give the d= domain of the sealer's ARC-Seal, such as \"lists.example.org\"",
            )),
        }
    }
    sealers
}
