-- Damaged messages set aside: a queued message whose record, state or
-- data no node can read (a record of an unknown format, recipient rows
-- that do not match it, data that is missing), as files' spool/damaged/.
-- The node that found it writes its row here and releases the message
-- with its next attempt at the end of time, in one transaction fenced by
-- its lease, so no node claims it again; the rest of the queue goes on.
-- `postern queue list` shows these apart, with the reason; `postern
-- queue delete ID` removes one with its message (ON DELETE CASCADE).
CREATE TABLE queue_damaged (
    queue_id BIGINT PRIMARY KEY REFERENCES queue_messages (queue_id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    set_aside_at TIMESTAMPTZ NOT NULL
);
