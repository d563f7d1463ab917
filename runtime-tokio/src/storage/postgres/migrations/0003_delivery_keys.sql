-- Exactly-once local delivery: one row per (queued message, mailbox)
-- whose copy is in the mailbox. A delivery writes its row in the
-- transaction that appends the copy and records the recipient's result,
-- fenced by its lease; a repeated delivery of the same message to the
-- same mailbox (after a crash, a lost lease, or a result whose answer
-- was lost) finds the row and makes no second copy.
--
-- The key is kept apart from mail_messages so that it outlives what the
-- user does meanwhile (a MOVE to another folder, an expunge): the copy was
-- made once, whatever became of it. It lives exactly as long as the queued
-- message: deleting the queue row deletes its keys (ON DELETE CASCADE),
-- and no later try can exist then.
CREATE TABLE mail_deliveries (
    queue_id BIGINT NOT NULL REFERENCES queue_messages (queue_id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    username TEXT NOT NULL,
    -- Where the copy was put, for the log line of a repeated try.
    folder_id BIGINT NOT NULL,
    uid BIGINT NOT NULL,
    PRIMARY KEY (queue_id, domain, username)
);
