//! A recipient's delivery record as a database row keeps it: a status
//! word, the time of its next attempt (pending recipients only), its
//! attempts, its last detail and whether its bounce is queued. The store
//! writes and reads rows; what they mean is decided here, so a row that
//! cannot be a [`RecipientState`] is refused the same way on every
//! backend.

use super::{RecipientState, Status};
use crate::limits::STORAGE_RECIPIENT_DETAIL_BYTES_MAX;
use crate::text::bounded;
use crate::time::UnixTime;
use std::fmt;

/// The words of the `status` column.
pub const STATUS_PENDING: &str = "pending";
pub const STATUS_DELIVERED: &str = "delivered";
pub const STATUS_FAILED: &str = "failed";

/// One `queue_recipients` row's values, apart from its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientRow {
    pub status: &'static str,
    /// Seconds since the Unix epoch; `Some` exactly when pending.
    pub next_attempt: Option<i64>,
    pub attempts: i64,
    pub last_detail: String,
    pub bounced: bool,
}

/// Why a row is not a recipient's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowProblem {
    UnknownStatus(String),
    PendingWithoutTime,
    AttemptsOutOfRange(i64),
    DetailTooLong(usize),
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowProblem::UnknownStatus(word) => {
                write!(
                    f,
                    "recipient status \"{}\" is not one we write",
                    word.escape_debug()
                )
            }
            RowProblem::PendingWithoutTime => {
                f.write_str("a pending recipient has no next attempt time")
            }
            RowProblem::AttemptsOutOfRange(n) => write!(f, "{n} attempts is out of range"),
            RowProblem::DetailTooLong(n) => write!(
                f,
                "a detail of {n} octets, over the limit of {STORAGE_RECIPIENT_DETAIL_BYTES_MAX}"
            ),
        }
    }
}

impl std::error::Error for RowProblem {}

/// The row that keeps `state` (and whether its bounce is queued).
pub fn to_row(state: &RecipientState, bounced: bool) -> RecipientRow {
    let (status, next_attempt) = match state.status {
        Status::Pending { next_attempt } => (STATUS_PENDING, Some(next_attempt.0)),
        Status::Delivered => (STATUS_DELIVERED, None),
        Status::Failed => (STATUS_FAILED, None),
    };
    RecipientRow {
        status,
        next_attempt,
        attempts: i64::from(state.attempts),
        last_detail: bounded(&state.last_detail, STORAGE_RECIPIENT_DETAIL_BYTES_MAX).into_owned(),
        bounced,
    }
}

/// The state a row keeps, and whether its bounce is queued. A pending
/// row's time is the one that counts; any time on a finished one is
/// ignored.
pub fn from_row(
    status: &str,
    next_attempt: Option<i64>,
    attempts: i64,
    last_detail: String,
    bounced: bool,
) -> Result<(RecipientState, bool), RowProblem> {
    let status = match status {
        STATUS_PENDING => Status::Pending {
            next_attempt: UnixTime(next_attempt.ok_or(RowProblem::PendingWithoutTime)?),
        },
        STATUS_DELIVERED => Status::Delivered,
        STATUS_FAILED => Status::Failed,
        other => return Err(RowProblem::UnknownStatus(other.to_owned())),
    };
    let attempts = u32::try_from(attempts).map_err(|_| RowProblem::AttemptsOutOfRange(attempts))?;
    // `to_row` cuts every detail it writes to this; longer came from
    // elsewhere.
    if last_detail.len() > STORAGE_RECIPIENT_DETAIL_BYTES_MAX {
        return Err(RowProblem::DetailTooLong(last_detail.len()));
    }
    Ok((
        RecipientState {
            status,
            attempts,
            last_detail,
        },
        bounced,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: Status, attempts: u32) -> RecipientState {
        RecipientState {
            status,
            attempts,
            last_detail: "451 later".to_owned(),
        }
    }

    #[test]
    fn every_status_round_trips() {
        for (status, bounced) in [
            (
                Status::Pending {
                    next_attempt: UnixTime(1_700_000_000),
                },
                false,
            ),
            (
                Status::Pending {
                    next_attempt: UnixTime(-5),
                },
                false,
            ),
            (Status::Delivered, false),
            (Status::Failed, false),
            (Status::Failed, true),
        ] {
            let original = state(status, 3);
            let row = to_row(&original, bounced);
            let back = from_row(
                row.status,
                row.next_attempt,
                row.attempts,
                row.last_detail.clone(),
                row.bounced,
            );
            assert_eq!(back, Ok((original, bounced)), "{row:?}");
        }
    }

    #[test]
    fn rows_that_are_no_state_are_refused() {
        let rows: &[(&str, Option<i64>, i64, RowProblem)] = &[
            (
                "later",
                Some(1),
                0,
                RowProblem::UnknownStatus("later".to_owned()),
            ),
            (STATUS_PENDING, None, 0, RowProblem::PendingWithoutTime),
            (
                STATUS_DELIVERED,
                None,
                -1,
                RowProblem::AttemptsOutOfRange(-1),
            ),
            (
                STATUS_FAILED,
                None,
                i64::from(u32::MAX) + 1,
                RowProblem::AttemptsOutOfRange(i64::from(u32::MAX) + 1),
            ),
        ];
        for (status, next, attempts, problem) in rows {
            assert_eq!(
                from_row(status, *next, *attempts, String::new(), false),
                Err(problem.clone())
            );
        }
    }

    #[test]
    fn a_long_detail_is_cut_to_what_a_row_keeps() {
        let mut long = state(Status::Failed, 1);
        long.last_detail = "x".repeat(STORAGE_RECIPIENT_DETAIL_BYTES_MAX + 10);
        let row = to_row(&long, false);
        assert_eq!(row.last_detail.len(), STORAGE_RECIPIENT_DETAIL_BYTES_MAX);
        assert!(row.last_detail.ends_with("..."));
        let too_long = "x".repeat(STORAGE_RECIPIENT_DETAIL_BYTES_MAX + 1);
        assert_eq!(
            from_row(STATUS_FAILED, None, 1, too_long, false),
            Err(RowProblem::DetailTooLong(
                STORAGE_RECIPIENT_DETAIL_BYTES_MAX + 1
            ))
        );
    }

    #[test]
    fn a_finished_row_ignores_a_time() {
        let (state, _) = from_row(STATUS_DELIVERED, Some(9), 1, String::new(), false).unwrap();
        assert_eq!(state.status, Status::Delivered);
    }
}
