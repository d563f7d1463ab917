use super::*;
use proptest::prelude::*;

const LEASE: Duration = Duration::from_secs(60);

fn at(seconds: u64) -> Instant {
    Instant::from_nanos(seconds * 1_000_000_000)
}

fn table(ids: &[u64]) -> LeaseTable {
    let mut table = LeaseTable::default();
    for &id in ids {
        table.insert(QueueId(id), at(0));
    }
    table
}

#[test]
fn a_claimed_message_is_nobody_elses_until_its_lease_runs_out() {
    let mut table = table(&[1]);
    let a = table.claim_due(1, at(0), LEASE, 10);
    assert_eq!(
        a,
        [(
            QueueId(1),
            LeaseToken {
                node: 1,
                counter: 1
            }
        )]
    );
    assert!(table.claim_due(2, at(59), LEASE, 10).is_empty());
    assert_eq!(table.check(QueueId(1), a[0].1, at(59)), Ok(()));
    // At the lease's end the holder is fenced and another node may claim.
    assert_eq!(
        table.check(QueueId(1), a[0].1, at(60)),
        Err(Fenced::Expired)
    );
    let b = table.claim_due(2, at(60), LEASE, 10);
    assert_eq!(
        b,
        [(
            QueueId(1),
            LeaseToken {
                node: 2,
                counter: 2
            }
        )]
    );
    // A's late writes land nowhere; B's do.
    let late = a[0].1;
    assert_eq!(
        table.check(QueueId(1), late, at(61)),
        Err(Fenced::Superseded)
    );
    assert_eq!(
        table.renew(QueueId(1), late, at(61), LEASE),
        Err(Fenced::Superseded)
    );
    assert_eq!(
        table.finish(QueueId(1), late, at(61)),
        Err(Fenced::Superseded)
    );
    assert_eq!(table.finish(QueueId(1), b[0].1, at(61)), Ok(()));
    assert_eq!(table.check(QueueId(1), b[0].1, at(61)), Err(Fenced::Gone));
    assert_eq!(table.ids().count(), 0);
}

#[test]
fn the_same_node_claiming_again_gets_a_new_token_and_the_old_one_is_fenced() {
    let mut table = table(&[1]);
    let first = table.claim_due(1, at(0), LEASE, 1)[0].1;
    let second = table.claim_due(1, at(60), LEASE, 1)[0].1;
    assert_eq!(second.counter, 2);
    assert_eq!(
        table.check(QueueId(1), first, at(61)),
        Err(Fenced::Superseded)
    );
    assert_eq!(table.check(QueueId(1), second, at(61)), Ok(()));
}

#[test]
fn renewing_keeps_the_lease_past_its_first_end() {
    let mut table = table(&[1]);
    let token = table.claim_due(1, at(0), LEASE, 1)[0].1;
    assert_eq!(table.renew(QueueId(1), token, at(50), LEASE), Ok(()));
    assert!(table.claim_due(2, at(100), LEASE, 1).is_empty());
    assert_eq!(table.holder(QueueId(1), at(100)), Some(token));
    assert_eq!(table.holder(QueueId(1), at(110)), None);
}

#[test]
fn a_released_message_waits_for_its_next_attempt() {
    let mut table = table(&[1]);
    let token = table.claim_due(1, at(0), LEASE, 1)[0].1;
    assert_eq!(table.release(QueueId(1), token, at(5), at(300)), Ok(()));
    assert_eq!(
        table.check(QueueId(1), token, at(6)),
        Err(Fenced::Superseded)
    );
    assert!(table.claim_due(2, at(299), LEASE, 1).is_empty());
    assert_eq!(table.claim_due(2, at(300), LEASE, 1)[0].1.counter, 2);
}

#[test]
fn claims_take_the_earliest_due_first_up_to_the_limit() {
    let mut table = LeaseTable::default();
    table.insert(QueueId(7), at(30));
    table.insert(QueueId(3), at(20));
    table.insert(QueueId(5), at(20));
    table.insert(QueueId(9), at(500));
    let ids = |claimed: Vec<(QueueId, LeaseToken)>| -> Vec<u64> {
        claimed.into_iter().map(|(id, _)| id.0).collect()
    };
    assert_eq!(ids(table.claim_due(1, at(100), LEASE, 2)), [3, 5]);
    assert_eq!(ids(table.claim_due(2, at(100), LEASE, 10)), [7]);
}

/// One step of a node in the property below.
#[derive(Clone, Debug)]
enum Step {
    Claim { node: NodeId, limit: usize },
    Renew { node: NodeId },
    Release { node: NodeId, later: u64 },
    Finish { node: NodeId },
    Wait { seconds: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    let node = 1..=3u16;
    prop_oneof![
        (node.clone(), 1..4usize).prop_map(|(node, limit)| Step::Claim { node, limit }),
        node.clone().prop_map(|node| Step::Renew { node }),
        (node.clone(), 0..120u64).prop_map(|(node, later)| Step::Release { node, later }),
        node.prop_map(|node| Step::Finish { node }),
        (0..90u64).prop_map(|seconds| Step::Wait { seconds }),
    ]
}

proptest! {
    /// Whatever three nodes do and however time passes: at no instant do
    /// two tokens of one message pass the check, a write with a fenced
    /// token changes nothing, and a finished message never comes back.
    #[test]
    fn one_holder_at_a_time_and_fenced_writes_change_nothing(
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut table = table(&[1, 2, 3, 4]);
        let mut now = at(0);
        // Every token each node was ever given, newest last.
        let mut tokens: BTreeMap<NodeId, Vec<(QueueId, LeaseToken)>> = BTreeMap::new();
        let mut finished: Vec<QueueId> = Vec::new();
        // Until when each token was promised its lease (by its claim or
        // its latest renewal), while its node has not let it go.
        let mut promised: BTreeMap<(QueueId, LeaseToken), Instant> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Claim { node, limit } => {
                    let held: Vec<QueueId> = tokens
                        .values()
                        .flatten()
                        .filter(|(id, token)| table.check(*id, *token, now).is_ok())
                        .map(|(id, _)| *id)
                        .collect();
                    for (id, token) in table.claim_due(node, now, LEASE, limit) {
                        prop_assert!(!finished.contains(&id));
                        prop_assert!(!held.contains(&id), "{id} claimed at {now:?} while held");
                        tokens.entry(node).or_default().push((id, token));
                        promised.insert((id, token), now + LEASE);
                    }
                }
                Step::Wait { seconds } => now = now + Duration::from_secs(seconds),
                Step::Renew { node } | Step::Release { node, .. } | Step::Finish { node } => {
                    let Some(&(id, token)) = tokens.get(&node).and_then(|t| t.last()) else {
                        continue;
                    };
                    let valid = table.check(id, token, now).is_ok();
                    let before = table.clone();
                    let result = match step {
                        Step::Renew { .. } => table.renew(id, token, now, LEASE),
                        Step::Release { later, .. } => {
                            table.release(id, token, now, now + Duration::from_secs(later))
                        }
                        _ => table.finish(id, token, now),
                    };
                    prop_assert_eq!(result.is_ok(), valid);
                    if valid {
                        match step {
                            Step::Renew { .. } => {
                                promised.insert((id, token), now + LEASE);
                            }
                            _ => {
                                promised.remove(&(id, token));
                            }
                        }
                    }
                    if !valid {
                        prop_assert_eq!(format!("{:?}", table.entries), format!("{:?}", before.entries));
                    } else if matches!(step, Step::Finish { .. }) {
                        finished.push(id);
                    }
                }
            }
            // A lease holds until the end it was promised.
            for ((id, token), until) in &promised {
                if now < *until {
                    prop_assert_eq!(table.check(*id, *token, now), Ok(()));
                }
            }
            for id in [1, 2, 3, 4].map(QueueId) {
                let passing = tokens
                    .values()
                    .flatten()
                    .filter(|(held, token)| *held == id && table.check(id, *token, now).is_ok())
                    .count();
                prop_assert!(passing <= 1, "{passing} tokens hold {id} at {now:?}");
            }
        }
    }
}

mod release {
    use super::super::{claim_limit, release_until, renew_every};
    use crate::limits::{STORAGE_CLAIM_MESSAGES_MAX, STORAGE_HELD_MESSAGES_MAX};
    use crate::queue::{DeliveryState, RecipientState, Status};
    use crate::time::UnixTime;
    use std::time::Duration;

    fn state(statuses: &[Status], bounced: &[bool]) -> DeliveryState {
        DeliveryState {
            recipients: statuses
                .iter()
                .map(|status| RecipientState {
                    status: status.clone(),
                    attempts: 1,
                    last_detail: String::new(),
                })
                .collect(),
            bounced: bounced.to_vec(),
        }
    }

    fn pending(at: i64) -> Status {
        Status::Pending {
            next_attempt: UnixTime(at),
        }
    }

    const NOW: UnixTime = UnixTime(1_000);

    #[test]
    fn a_message_only_waiting_for_a_retry_is_released_until_its_earliest_pending_recipient() {
        let waiting = state(
            &[pending(1_300), Status::Delivered, pending(1_100)],
            &[false; 3],
        );
        assert_eq!(
            release_until(&waiting, false, false, NOW),
            Some(UnixTime(1_100))
        );
    }

    #[test]
    fn a_message_with_work_under_way_or_due_or_blocked_is_kept() {
        let waiting = state(&[pending(1_300)], &[false]);
        assert_eq!(release_until(&waiting, true, false, NOW), None, "busy");
        assert_eq!(release_until(&waiting, false, true, NOW), None, "blocked");
        let due = state(&[pending(1_000), pending(1_300)], &[false; 2]);
        assert_eq!(release_until(&due, false, false, NOW), None, "due now");
    }

    #[test]
    fn a_message_with_nothing_pending_or_a_bounce_to_queue_is_kept() {
        let done = state(&[Status::Delivered, Status::Failed], &[false, true]);
        assert_eq!(release_until(&done, false, false, NOW), None);
        let unbounced = state(&[Status::Failed, pending(1_300)], &[false, false]);
        assert_eq!(release_until(&unbounced, false, false, NOW), None);
    }

    #[test]
    fn claims_stop_at_the_held_bound_and_never_exceed_one_claims_bound() {
        assert_eq!(claim_limit(0), STORAGE_CLAIM_MESSAGES_MAX);
        assert_eq!(claim_limit(STORAGE_HELD_MESSAGES_MAX - 3), 3);
        assert_eq!(claim_limit(STORAGE_HELD_MESSAGES_MAX), 0);
        assert_eq!(claim_limit(STORAGE_HELD_MESSAGES_MAX + 5), 0);
    }

    #[test]
    fn leases_are_renewed_three_times_a_lease() {
        assert_eq!(
            renew_every(Duration::from_secs(60)),
            Duration::from_secs(20)
        );
        assert_eq!(renew_every(Duration::from_secs(6)), Duration::from_secs(2));
    }
}
