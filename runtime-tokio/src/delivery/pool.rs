//! Open outbound connections, as the runner sees them: which task holds
//! each, which message it is carrying, and which are idle after a
//! transaction, waiting for another message to the same destination (RFC
//! 5321 3.3). The connections themselves live in their tasks
//! (`attempt::run_connection`); the runner hands them messages through a
//! channel and hears back by [`super::Report`].
//!
//! A connection keeps its outbound connection slot (its quota permit)
//! from its connect to its close, idle or not, so reuse never lets more
//! connections be open than the limits allow.

use super::attempt::Job;
use postern_core::envelope::QueueId;
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// The message a connection is carrying: its queue ID, its domain and the
/// indexes of the recipients.
pub(super) type Carrying = (QueueId, String, Vec<usize>);

/// One connection task.
struct Connection {
    /// Where to hand it its next message.
    jobs: mpsc::Sender<Job>,
    /// What it is carrying, if anything: reported as failed should the
    /// task end before its result.
    carrying: Option<Carrying>,
}

#[derive(Default)]
pub(super) struct Pool {
    connections: BTreeMap<u64, Connection>,
    /// Idle connections, by reuse key (where they lead: the smarthost, or
    /// a domain's mail exchanger), oldest first.
    idle: BTreeMap<String, Vec<u64>>,
}

impl Pool {
    /// Task `task` is starting a connection for `carrying`; `jobs` is how
    /// to reach it afterwards.
    pub(super) fn opened(&mut self, task: u64, jobs: mpsc::Sender<Job>, carrying: Carrying) {
        self.connections.insert(
            task,
            Connection {
                jobs,
                carrying: Some(carrying),
            },
        );
    }

    /// Task `task` has reported the result of what it carried; with a
    /// `key`, its connection waits for another message to that
    /// destination.
    pub(super) fn reported(&mut self, task: u64, key: Option<String>) {
        let Some(connection) = self.connections.get_mut(&task) else {
            return;
        };
        connection.carrying = None;
        if let Some(key) = key {
            self.idle.entry(key).or_default().push(task);
        }
    }

    /// Hands `job` to an idle connection to `key`; answers its task, or
    /// gives the job back when none takes it (a connection that gave up
    /// waiting has closed its channel, and is forgotten here).
    pub(super) fn hand_over(&mut self, key: &str, job: Job) -> Result<u64, Job> {
        let mut job = job;
        let Some(tasks) = self.idle.get_mut(key) else {
            return Err(job);
        };
        // The most recently used first: the oldest may be about to time out.
        while let Some(task) = tasks.pop() {
            let Some(connection) = self.connections.get_mut(&task) else {
                continue;
            };
            let carrying = (job.id, job.domain.clone(), job.indexes.clone());
            match connection.jobs.try_send(job) {
                Ok(()) => {
                    connection.carrying = Some(carrying);
                    if tasks.is_empty() {
                        self.idle.remove(key);
                    }
                    return Ok(task);
                }
                Err(refused) => job = refused.into_inner(),
            }
        }
        self.idle.remove(key);
        Err(job)
    }

    /// Closes one idle connection that does not lead to `key`, so that its
    /// slot comes back for a connection that does; false if there is none.
    /// (Dropping its channel makes the task QUIT; its close is reported.)
    pub(super) fn retire_one_except(&mut self, key: &str) -> bool {
        let Some(other) = self.idle.keys().find(|k| k.as_str() != key).cloned() else {
            return false;
        };
        let tasks = self.idle.entry(other.clone()).or_default();
        let task = tasks.remove(0);
        if tasks.is_empty() {
            self.idle.remove(&other);
        }
        self.connections.remove(&task);
        true
    }

    /// Closes every idle connection (a reload may have changed where and
    /// how they lead).
    pub(super) fn retire_idle(&mut self) {
        for task in std::mem::take(&mut self.idle).into_values().flatten() {
            self.connections.remove(&task);
        }
    }

    /// Task `task` has ended; answers what it was carrying, if anything
    /// (its result never came).
    pub(super) fn closed(&mut self, task: u64) -> Option<Carrying> {
        for tasks in self.idle.values_mut() {
            tasks.retain(|&t| t != task);
        }
        self.idle.retain(|_, tasks| !tasks.is_empty());
        self.connections.remove(&task)?.carrying
    }
}
