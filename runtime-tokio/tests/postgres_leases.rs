//! The postgres queue's leases held to core's rule: the same steps of
//! three nodes (claims, renewals, releases, finishes, and every lease
//! running out) go to `PgQueue` on a real PostgreSQL and to
//! `postern_core::queue::lease::LeaseTable`, and every answer must agree:
//! which messages a claim takes, with which counters, which writes are
//! fenced, and who holds each message after each step.

mod support;

use postern::storage::postgres::{Lease, PgQueue, StoreError};
use postern_core::envelope::QueueId;
use postern_core::queue::lease::{LeaseTable, LeaseToken};
use postern_core::time::{Instant, UnixTime};
use std::collections::BTreeSet;
use std::time::Duration;
use support::postgres::{commit, database, look, queue};

/// Longer than a run takes, so that only the `Expire` step ends leases.
const LEASE: Duration = Duration::from_secs(600);

const MESSAGES: u64 = 6;

#[derive(Clone, Copy, Debug)]
enum Step {
    Claim(u16),
    Renew(u16, usize),
    Release(u16, usize),
    Finish(u16, usize),
    /// Every lease runs out.
    Expire,
}

/// A small deterministic generator (xorshift), so a failing seed replays.
struct Steps(u64);

impl Iterator for Steps {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let node = (self.0 % 3) as u16 + 1;
        let pick = (self.0 >> 8) as usize % 4;
        Some(match (self.0 >> 16) % 10 {
            0..=2 => Step::Claim(node),
            3 | 4 => Step::Renew(node, pick),
            5 | 6 => Step::Release(node, pick),
            7 | 8 => Step::Finish(node, pick),
            _ => Step::Expire,
        })
    }
}

fn token(lease: Lease) -> LeaseToken {
    LeaseToken {
        node: lease.node_id,
        counter: lease.counter as u64,
    }
}

/// Who holds each message now, as the database says.
async fn holders(client: &tokio_postgres::Client) -> Vec<(QueueId, LeaseToken)> {
    client
        .query(
            "SELECT queue_id, lease_node, lease_counter FROM queue_messages \
             WHERE lease_expires > now() ORDER BY queue_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let node: i32 = row.get(1);
            (
                QueueId(row.get::<_, i64>(0) as u64),
                LeaseToken {
                    node: node as u16,
                    counter: row.get::<_, i64>(2) as u64,
                },
            )
        })
        .collect()
}

async fn run(seed: u64, steps: usize) {
    let db = database();
    let queue: PgQueue = queue(&db).await;
    let client = look(&db).await;
    let mut model = LeaseTable::default();
    let mut now = Instant::ZERO;
    for id in 1..=MESSAGES {
        commit(&queue, id, 1, b"x\r\n").await;
        model.insert(QueueId(id), now);
    }
    // Each node's claims, oldest first.
    let mut held: [Vec<(QueueId, Lease)>; 4] = Default::default();
    for (n, step) in Steps(seed).take(steps).enumerate() {
        let context = format!("seed {seed}, step {n}: {step:?}");
        let pick = |node: u16, pick: usize| -> Option<(QueueId, Lease)> {
            let claims = &held[node as usize];
            (!claims.is_empty()).then(|| claims[pick % claims.len()])
        };
        match step {
            Step::Claim(node) => {
                let claimed = queue.claim_due(node, 1000, LEASE).await.unwrap();
                let expected = model.claim_due(node, now, LEASE, 1000);
                let got: BTreeSet<(QueueId, LeaseToken)> = claimed
                    .iter()
                    .map(|c| (c.queue_id, token(c.lease)))
                    .collect();
                let want: BTreeSet<(QueueId, LeaseToken)> = expected.into_iter().collect();
                assert_eq!(got, want, "{context}");
                held[node as usize].extend(claimed.iter().map(|c| (c.queue_id, c.lease)));
            }
            Step::Renew(node, n) | Step::Release(node, n) | Step::Finish(node, n) => {
                let Some((id, lease)) = pick(node, n) else {
                    continue;
                };
                let (got, want) = match step {
                    Step::Renew(..) => (
                        queue.renew(id, &lease, LEASE).await.map(|_| ()),
                        model.renew(id, token(lease), now, LEASE),
                    ),
                    Step::Release(..) => (
                        // Due again at once.
                        queue.release(id, &lease, UnixTime(0)).await,
                        model.release(id, token(lease), now, now),
                    ),
                    _ => (
                        queue.finish(id, &lease).await,
                        model.finish(id, token(lease), now),
                    ),
                };
                match got {
                    Ok(()) => assert!(want.is_ok(), "{context}: written, the rule says {want:?}"),
                    Err(StoreError::Fenced) => {
                        assert!(want.is_err(), "{context}: fenced, the rule says it holds")
                    }
                    Err(StoreError::Io(error)) => panic!("{context}: {error}"),
                }
            }
            Step::Expire => {
                client
                    .execute(
                        "UPDATE queue_messages SET lease_expires = now() - INTERVAL '1 second' \
                         WHERE lease_expires IS NOT NULL",
                        &[],
                    )
                    .await
                    .unwrap();
                now = now + LEASE;
            }
        }
        let want: Vec<(QueueId, LeaseToken)> = model
            .ids()
            .filter_map(|id| model.holder(id, now).map(|token| (id, token)))
            .collect();
        assert_eq!(holders(&client).await, want, "{context}: holders");
        assert_eq!(
            queue.count().await.unwrap() as usize,
            model.ids().count(),
            "{context}: messages left"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_leases_follow_the_core_rule_step_by_step() {
    for seed in [0x9E37_79B9_7F4A_7C15, 0x2545_F491_4F6C_DD1D, 7] {
        run(seed, 120).await;
    }
}
