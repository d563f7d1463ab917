-- The queue: messages with their delivery state, and the message data
-- they refer to, in chunks.
--
-- Written in the subset of SQL that CockroachDB and YugabyteDB accept
-- too: no PL/pgSQL, no triggers, no SERIAL; keys are BIGINTs Postern
-- makes itself (queue IDs carry the node ID).

CREATE TABLE nodes (
    node_id INT PRIMARY KEY,
    name TEXT NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL
);

CREATE TABLE blobs (
    blob_id BIGINT PRIMARY KEY,
    size BIGINT NOT NULL,
    chunks INT NOT NULL
);

CREATE TABLE blob_chunks (
    blob_id BIGINT NOT NULL REFERENCES blobs (blob_id),
    seq INT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (blob_id, seq)
);

CREATE TABLE queue_messages (
    queue_id BIGINT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    -- The spool record (envelope, trace fields), as a spool file starts.
    record BYTEA NOT NULL,
    blob_id BIGINT NOT NULL REFERENCES blobs (blob_id),
    size BIGINT NOT NULL,
    -- The earliest next attempt of a pending recipient.
    next_attempt TIMESTAMPTZ NOT NULL,
    -- Who holds the message, until when (the database's clock), and how
    -- many times it has been claimed: the fence of every write.
    lease_node INT NULL,
    lease_counter BIGINT NOT NULL DEFAULT 0,
    lease_expires TIMESTAMPTZ NULL
);

CREATE INDEX queue_messages_due ON queue_messages (next_attempt);

CREATE TABLE queue_recipients (
    queue_id BIGINT NOT NULL REFERENCES queue_messages (queue_id),
    idx INT NOT NULL,
    -- pending, delivered or failed (postern_core::queue::row).
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt TIMESTAMPTZ NULL,
    last_detail TEXT NOT NULL DEFAULT '',
    bounced BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (queue_id, idx)
);
