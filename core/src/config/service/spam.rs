//! An SMTP or submission instance's spam control: its DNS blocklists
//! (`[[service.dnsbl]]`, `dnsbl_threshold`) and greylisting (`greylist`,
//! `greylist_delay`, `greylist_retry_window`, `greylist_expiry`), and
//! its barring (`bar_senders`, `bar_recipients`). Other kinds take no
//! mail, so the keys are errors there.

use super::keys::{Inapplicable, report_inapplicable};
use super::{ConfigError, RawService, Seconds, ServiceKind, spanned_error};
use crate::address::is_domain;
use crate::limits::{
    BAR_PATTERNS_MAX, DNSBL_CODES_MAX, DNSBL_THRESHOLD_DEFAULT, DNSBL_WEIGHT_DEFAULT,
    DNSBL_WEIGHT_MAX, DNSBL_ZONES_MAX, GREYLIST_DURATION_MAX,
};
use crate::spam::{
    AddressPattern, Barring, Blocklists, GreylistPolicy, SpamPolicy, Zone, ZoneKind,
};
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::time::Duration;
use toml::Spanned;

/// One `[[service.dnsbl]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawZone {
    zone: Spanned<String>,
    kind: Option<Spanned<String>>,
    weight: Option<Spanned<u32>>,
    codes: Option<Spanned<Vec<Spanned<String>>>>,
}

/// The instance's spam control, every error reported at its line.
pub(super) fn spam_policy(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> SpamPolicy {
    if !matches!(
        service.kind.get_ref(),
        ServiceKind::Smtp | ServiceKind::Submission
    ) {
        check_inapplicable_keys(source, service, errors);
        return SpamPolicy::default();
    }
    SpamPolicy {
        blocklists: blocklists(source, service, errors),
        greylist: greylist(source, service, errors),
        barring: Barring {
            senders: patterns(source, &service.bar_senders, "bar_senders", errors),
            recipients: patterns(source, &service.bar_recipients, "bar_recipients", errors),
        },
    }
}

/// `bar_senders` or `bar_recipients`: each pattern checked at its line,
/// each kept once, at most [`BAR_PATTERNS_MAX`].
fn patterns(
    source: &str,
    written: &Option<Spanned<Vec<Spanned<String>>>>,
    key: &str,
    errors: &mut Vec<ConfigError>,
) -> Vec<AddressPattern> {
    let Some(written) = written else {
        return Vec::new();
    };
    if written.get_ref().len() > BAR_PATTERNS_MAX {
        errors.push(spanned_error(
            source,
            written.span(),
            key,
            format!(
                "{} patterns; an instance bars at most {BAR_PATTERNS_MAX}",
                written.get_ref().len()
            ),
            "cover a domain with one wildcard, such as *@example.com or @example.com, or use a DNS blocklist for long lists",
        ));
    }
    let mut patterns: Vec<AddressPattern> = Vec::new();
    for text in written.get_ref().iter().take(BAR_PATTERNS_MAX) {
        match AddressPattern::parse(text.get_ref()) {
            Ok(pattern) if !patterns.contains(&pattern) => patterns.push(pattern),
            Ok(_) => {}
            Err(error) => errors.push(spanned_error(
                source,
                text.span(),
                key,
                error.problem,
                error.fix,
            )),
        }
    }
    patterns
}

fn check_inapplicable_keys(source: &str, service: &RawService, errors: &mut Vec<ConfigError>) {
    let why = "spam control applies to instances that take mail (smtp, submission)";
    let keys: [Inapplicable<'_>; 8] = [
        (
            "dnsbl",
            service
                .dnsbl
                .as_ref()
                .and_then(|zones| zones.first())
                .map(|zone| zone.span()),
            why,
        ),
        (
            "dnsbl_threshold",
            service.dnsbl_threshold.as_ref().map(|v| v.span()),
            why,
        ),
        ("greylist", service.greylist.as_ref().map(|v| v.span()), why),
        (
            "greylist_delay",
            service.greylist_delay.as_ref().map(|v| v.span()),
            why,
        ),
        (
            "greylist_retry_window",
            service.greylist_retry_window.as_ref().map(|v| v.span()),
            why,
        ),
        (
            "greylist_expiry",
            service.greylist_expiry.as_ref().map(|v| v.span()),
            why,
        ),
        (
            "bar_senders",
            service.bar_senders.as_ref().map(|v| v.span()),
            why,
        ),
        (
            "bar_recipients",
            service.bar_recipients.as_ref().map(|v| v.span()),
            why,
        ),
    ];
    let what = format!("a kind = \"{}\" instance", service.kind.get_ref());
    report_inapplicable(source, service, errors, &what, &keys);
}

fn blocklists(source: &str, service: &RawService, errors: &mut Vec<ConfigError>) -> Blocklists {
    let raw = service.dnsbl.as_deref().unwrap_or_default();
    if raw.len() > DNSBL_ZONES_MAX {
        errors.push(spanned_error(
            source,
            raw[DNSBL_ZONES_MAX].span(),
            "dnsbl",
            format!(
                "{} blocklists; an instance consults at most {DNSBL_ZONES_MAX}",
                raw.len()
            ),
            "keep the lists you trust most: each is a DNS query per connection",
        ));
    }
    let mut zones: Vec<Zone> = Vec::new();
    for spanned in raw.iter().take(DNSBL_ZONES_MAX) {
        if let Some(zone) = zone(source, spanned.get_ref(), errors) {
            if zones.iter().any(|z| z.zone == zone.zone) {
                errors.push(spanned_error(
                    source,
                    spanned.get_ref().zone.span(),
                    "zone",
                    format!("the zone \"{}\" is listed twice", zone.zone),
                    "give each zone one [[service.dnsbl]]; its weight says how much it counts",
                ));
                continue;
            }
            zones.push(zone);
        }
    }
    let threshold = service
        .dnsbl_threshold
        .as_ref()
        .map_or(DNSBL_THRESHOLD_DEFAULT, |n| {
            super::check_range(
                source,
                n,
                "dnsbl_threshold",
                |n| *n,
                1,
                DNSBL_WEIGHT_MAX,
                errors,
            )
        });
    // Per kind: a client is weighed by the IP zones, a sender domain by
    // the domain zones, never both together.
    let best = [ZoneKind::Ip, ZoneKind::Domain]
        .iter()
        .map(|kind| {
            zones
                .iter()
                .filter(|z| z.kind == *kind)
                .map(|z| z.weight)
                .sum::<u32>()
        })
        .max()
        .unwrap_or(0);
    if let Some(written) = &service.dnsbl_threshold
        && !zones.is_empty()
        && best < threshold
    {
        errors.push(spanned_error(
            source,
            written.span(),
            "dnsbl_threshold",
            format!(
                "{threshold} can never be reached: the weights of the zones of one kind add up to at most {best}"
            ),
            &format!("lower dnsbl_threshold to {best} or less, or raise the zones' weights"),
        ));
    }
    Blocklists { zones, threshold }
}

fn zone(source: &str, raw: &RawZone, errors: &mut Vec<ConfigError>) -> Option<Zone> {
    let name = raw
        .zone
        .get_ref()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut valid = true;
    if !is_domain(&name) || !name.contains('.') || !name.is_ascii() {
        errors.push(spanned_error(
            source,
            raw.zone.span(),
            "zone",
            format!("\"{}\" is not a DNS zone", raw.zone.get_ref()),
            "write the blocklist's zone as its operator publishes it, such as zone = \"zen.spamhaus.org\"",
        ));
        valid = false;
    }
    let kind = match raw.kind.as_ref().map(|k| k.get_ref().as_str()) {
        None | Some("ip") => ZoneKind::Ip,
        Some("domain") => ZoneKind::Domain,
        Some(other) => {
            errors.push(spanned_error(
                source,
                raw.kind.as_ref().map_or(raw.zone.span(), |k| k.span()),
                "kind",
                format!("\"{other}\" is not a kind of blocklist"),
                "write kind = \"ip\" (the list is asked about client addresses) or kind = \"domain\" (about sender domains)",
            ));
            valid = false;
            ZoneKind::Ip
        }
    };
    let weight = raw.weight.as_ref().map_or(DNSBL_WEIGHT_DEFAULT, |w| {
        super::check_range(source, w, "weight", |w| *w, 1, DNSBL_WEIGHT_MAX, errors)
    });
    let mut codes = Vec::new();
    if let Some(written) = &raw.codes {
        if written.get_ref().len() > DNSBL_CODES_MAX {
            errors.push(spanned_error(
                source,
                written.span(),
                "codes",
                format!(
                    "{} codes; at most {DNSBL_CODES_MAX}",
                    written.get_ref().len()
                ),
                "list the answers that mean a listing you want to act on",
            ));
        }
        for code in written.get_ref() {
            match code.get_ref().parse::<Ipv4Addr>() {
                Ok(address) if address.octets()[0] == 127 => codes.push(address),
                _ => {
                    errors.push(spanned_error(
                        source,
                        code.span(),
                        "codes",
                        format!("\"{}\" is not a blocklist answer", code.get_ref()),
                        "answers are addresses in 127.0.0.0/8 (RFC 5782 2.1), such as codes = [\"127.0.0.2\", \"127.0.0.4\"]",
                    ));
                    valid = false;
                }
            }
        }
    }
    valid.then_some(Zone {
        zone: name,
        kind,
        weight,
        codes,
    })
}

fn greylist(
    source: &str,
    service: &RawService,
    errors: &mut Vec<ConfigError>,
) -> Option<GreylistPolicy> {
    let on = service.greylist.as_ref().is_some_and(|g| *g.get_ref());
    let defaults = GreylistPolicy::default();
    let mut duration = |value: &Option<Spanned<Seconds>>, key: &str, default: Duration| {
        let Some(value) = value else { return default };
        if !on {
            errors.push(spanned_error(
                source,
                value.span(),
                key,
                "is written but greylisting is off".to_owned(),
                &format!("set greylist = true on this instance, or remove `{key}`"),
            ));
        }
        let written = value.get_ref().0;
        if written > GREYLIST_DURATION_MAX {
            errors.push(spanned_error(
                source,
                value.span(),
                key,
                format!("{}s is too long", written.as_secs()),
                "use at most \"366d\"",
            ));
        }
        written
    };
    let policy = GreylistPolicy {
        delay: duration(&service.greylist_delay, "greylist_delay", defaults.delay),
        retry_window: duration(
            &service.greylist_retry_window,
            "greylist_retry_window",
            defaults.retry_window,
        ),
        expiry: duration(&service.greylist_expiry, "greylist_expiry", defaults.expiry),
    };
    if on && policy.retry_window <= policy.delay {
        let at = service
            .greylist_retry_window
            .as_ref()
            .or(service.greylist_delay.as_ref())
            .map_or(0..0, |v| v.span());
        errors.push(spanned_error(
            source,
            at,
            "greylist_retry_window",
            format!(
                "the retry window ({}s) must be longer than the delay ({}s), or no retry could ever pass",
                policy.retry_window.as_secs(),
                policy.delay.as_secs()
            ),
            "make greylist_retry_window longer than greylist_delay; the defaults are \"5m\" and \"2d\"",
        ));
    }
    on.then_some(policy)
}

#[cfg(test)]
mod tests;
