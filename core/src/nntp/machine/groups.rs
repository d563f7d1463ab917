//! Groups: LIST (RFC 3977 7.6, 8.4, 8.6), GROUP and LISTGROUP (6.1),
//! NEWGROUPS (7.3) and NEWNEWS (7.4).

use super::NntpServer;
use crate::nntp::codec::{ListKind, NewsDate};
use crate::nntp::state::{GroupFor, GroupsFor, Selected, State};
use crate::nntp::store_types::{ArticleRange, GroupName, GroupSummary};
use crate::nntp::wildmat::Wildmat;
use crate::nntp::{Event, Output, Request};
use crate::time::UnixTime;

/// RFC 3977 8.4: the overview fields, in order; HDR of one of these is
/// answered from the overview.
pub(super) const OVERVIEW_FORMAT: [&str; 7] = [
    "Subject:",
    "From:",
    "Date:",
    "Message-ID:",
    "References:",
    ":bytes",
    ":lines",
];

impl NntpServer {
    /// A wildmat argument, or a `501` saying why not.
    fn wildmat_argument(&mut self, text: Option<&str>) -> Result<Option<Wildmat>, ()> {
        match text.map(Wildmat::parse) {
            None => Ok(None),
            Some(Ok(wildmat)) => Ok(Some(wildmat)),
            Some(Err(error)) => {
                self.refuse(501, &format!("Syntax error: {error}"));
                Err(())
            }
        }
    }

    pub(super) fn handle_list(&mut self, kind: ListKind) {
        let purpose = match kind {
            ListKind::OverviewFmt => {
                let lines = OVERVIEW_FORMAT.map(String::from);
                return self.send_multi_line(215, "Order of fields in overview database", &lines);
            }
            ListKind::Headers => {
                let lines = [":", ":bytes", ":lines"].map(String::from);
                return self.send_multi_line(215, "Headers and metadata items supported", &lines);
            }
            ListKind::Active(wildmat) => match self.wildmat_argument(wildmat.as_deref()) {
                Ok(wildmat) => GroupsFor::Active(wildmat),
                Err(()) => return,
            },
            ListKind::ActiveTimes(wildmat) => match self.wildmat_argument(wildmat.as_deref()) {
                Ok(wildmat) => GroupsFor::ActiveTimes(wildmat),
                Err(()) => return,
            },
            ListKind::Newsgroups(wildmat) => match self.wildmat_argument(wildmat.as_deref()) {
                Ok(wildmat) => GroupsFor::Newsgroups(wildmat),
                Err(()) => return,
            },
        };
        self.request(
            State::AwaitingGroups(purpose),
            Request::Groups { since: None },
        );
    }

    pub(super) fn handle_newgroups(&mut self, date: NewsDate) {
        let Some(since) = resolve_date(date, self.wall_clock()) else {
            return self.refuse(501, "Syntax error: no such date");
        };
        self.request(
            State::AwaitingGroups(GroupsFor::NewGroups),
            Request::Groups { since: Some(since) },
        );
    }

    pub(in crate::nntp) fn groups_listed(&mut self, mut groups: Vec<GroupSummary>) {
        let Some(state) = self.take_awaited("Groups") else {
            return;
        };
        let State::AwaitingGroups(purpose) = state else {
            panic!("Groups in state {state:?}");
        };
        groups.retain(|group| self.access.may_read(&group.name));
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let selected = |wildmat: &Option<Wildmat>, group: &GroupSummary| {
            wildmat
                .as_ref()
                .is_none_or(|w| w.matches(group.name.as_str()))
        };
        let active = |group: &GroupSummary| {
            format!(
                "{} {} {} {}",
                group.name,
                group.high,
                group.low,
                group.status.letter()
            )
        };
        match purpose {
            GroupsFor::Active(wildmat) => {
                let lines: Vec<String> = groups
                    .iter()
                    .filter(|g| selected(&wildmat, g))
                    .map(active)
                    .collect();
                self.send_multi_line(215, "List of newsgroups follows", &lines);
            }
            GroupsFor::ActiveTimes(wildmat) => {
                // RFC 3977 7.6.4: the creator is an address; the server's.
                let creator = format!("news@{}", self.config.hostname);
                let lines: Vec<String> = groups
                    .iter()
                    .filter(|g| selected(&wildmat, g))
                    .map(|g| format!("{} {} {creator}", g.name, g.created.0.max(0)))
                    .collect();
                self.send_multi_line(215, "Information follows", &lines);
            }
            GroupsFor::Newsgroups(wildmat) => {
                let lines: Vec<String> = groups
                    .iter()
                    .filter(|g| selected(&wildmat, g))
                    .map(|g| format!("{}\t{}", g.name, one_line(&g.description)))
                    .collect();
                self.send_multi_line(215, "List of newsgroup descriptions follows", &lines);
            }
            GroupsFor::NewGroups => {
                let lines: Vec<String> = groups.iter().map(active).collect();
                self.send_multi_line(231, "List of new newsgroups follows", &lines);
            }
        }
    }

    /// The group a command names, if this session may see it; otherwise
    /// the client is told it does not exist (`411`).
    fn readable_group(&mut self, name: &str) -> Option<GroupName> {
        match GroupName::new(name) {
            Ok(group) if self.access.may_read(&group) => Some(group),
            _ => {
                self.send_status(411, "No such newsgroup");
                None
            }
        }
    }

    pub(super) fn handle_group(&mut self, name: &str) {
        if let Some(group) = self.readable_group(name) {
            self.request(
                State::AwaitingGroup(GroupFor::Group),
                Request::SelectGroup(group),
            );
        }
    }

    pub(super) fn handle_listgroup(&mut self, argument: Option<(String, Option<ArticleRange>)>) {
        let (group, range) = match argument {
            Some((name, range)) => match self.readable_group(&name) {
                Some(group) => (group, range),
                None => return,
            },
            None => match &self.selected {
                // The group is read again: articles may have come or gone.
                Some(selected) => (selected.summary.name.clone(), None),
                None => return self.send_status(412, "No newsgroup selected"),
            },
        };
        self.request(
            State::AwaitingGroup(GroupFor::ListGroup(range)),
            Request::SelectGroup(group),
        );
    }

    pub(in crate::nntp) fn group_selected(&mut self, group: Option<(GroupSummary, Vec<u32>)>) {
        let Some(state) = self.take_awaited("GroupSelected") else {
            return;
        };
        let State::AwaitingGroup(purpose) = state else {
            panic!("GroupSelected in state {state:?}");
        };
        let Some((summary, mut numbers)) = group else {
            // RFC 3977 6.1.1.2: the selected group stays as it was.
            return self.send_status(411, "No such newsgroup");
        };
        numbers.sort_unstable();
        numbers.dedup();
        let status = format!(
            "{} {} {} {}",
            summary.count, summary.low, summary.high, summary.name
        );
        self.output.push_back(Output::Event(Event::GroupSelected {
            group: summary.name.clone(),
            count: summary.count,
        }));
        let listed: Option<Vec<String>> = match purpose {
            GroupFor::Group => None,
            GroupFor::ListGroup(range) => Some(
                numbers
                    .iter()
                    .filter(|&&n| range.is_none_or(|r| r.contains(n)))
                    .map(u32::to_string)
                    .collect(),
            ),
        };
        self.selected = Some(Selected {
            summary,
            current: numbers.first().copied(),
            numbers,
        });
        match listed {
            None => self.send_status(211, &status),
            Some(lines) => self.send_multi_line(211, &format!("{status} list follows"), &lines),
        }
    }

    pub(super) fn handle_newnews(&mut self, wildmat: &str, date: NewsDate) {
        let Ok(Some(wildmat)) = self.wildmat_argument(Some(wildmat)) else {
            return;
        };
        let Some(since) = resolve_date(date, self.wall_clock()) else {
            return self.refuse(501, "Syntax error: no such date");
        };
        self.request(State::AwaitingNewNews(wildmat), Request::NewNews { since });
    }

    pub(in crate::nntp) fn new_news_answered(&mut self, articles: Vec<(GroupName, String)>) {
        let Some(state) = self.take_awaited("NewNews") else {
            return;
        };
        let State::AwaitingNewNews(wildmat) = state else {
            panic!("NewNews in state {state:?}");
        };
        let mut seen = std::collections::BTreeSet::new();
        let lines: Vec<String> = articles
            .into_iter()
            .filter(|(group, _)| self.access.may_read(group) && wildmat.matches(group.as_str()))
            .filter(|(_, id)| crate::nntp::valid_message_id(id))
            .filter(|(_, id)| seen.insert(id.clone()))
            .map(|(_, id)| id)
            .collect();
        self.send_multi_line(230, "List of new articles follows", &lines);
    }
}

/// A description on one line, tabs and all.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// RFC 3977 7.3.2: the instant a NEWGROUPS or NEWNEWS date names, in UTC
/// (this server's local time is UTC, with or without `GMT`). A two-digit
/// year is in the current century if not after this year, else in the
/// previous one.
pub(super) fn resolve_date(date: NewsDate, now: UnixTime) -> Option<UnixTime> {
    let year = if date.two_digit_year {
        let current = time::OffsetDateTime::from_unix_timestamp(now.0)
            .ok()?
            .year();
        let candidate = current - current.rem_euclid(100) + date.year;
        if candidate > current {
            candidate - 100
        } else {
            candidate
        }
    } else {
        date.year
    };
    let month = time::Month::try_from(date.month).ok()?;
    let day = time::Date::from_calendar_date(year, month, date.day).ok()?;
    let at = time::Time::from_hms(date.hour, date.minute, date.second.min(59)).ok()?;
    Some(UnixTime(
        time::PrimitiveDateTime::new(day, at)
            .assume_utc()
            .unix_timestamp(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, two_digit_year: bool, month: u8, day: u8) -> NewsDate {
        NewsDate {
            year,
            two_digit_year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }

    #[test]
    fn two_digit_years_are_resolved_against_the_clock() {
        // Fri, 20 Nov 2026 22:15:59 UTC.
        let now = UnixTime(1_795_212_959);
        let year = |d: NewsDate| {
            resolve_date(d, now).map(|t| {
                time::OffsetDateTime::from_unix_timestamp(t.0)
                    .unwrap()
                    .year()
            })
        };
        assert_eq!(year(date(26, true, 1, 1)), Some(2026));
        assert_eq!(year(date(27, true, 1, 1)), Some(1927));
        assert_eq!(year(date(0, true, 1, 1)), Some(2000));
        assert_eq!(year(date(99, true, 1, 1)), Some(1999));
        assert_eq!(year(date(2030, false, 1, 1)), Some(2030));
        assert_eq!(resolve_date(date(2026, false, 2, 30), now), None);
        assert_eq!(
            resolve_date(date(1970, false, 1, 1), now),
            Some(UnixTime(0))
        );
    }
}
