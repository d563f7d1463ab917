-- What was each node's own and is now shared by every node.
--
-- The accounts: one document in the format of accounts.toml (core's
-- `Accounts` parses and renders it), in one row with a revision. A change
-- locks the row (SELECT ... FOR UPDATE), rewrites the document and bumps
-- the revision; a node keeps the document it read with its revision and
-- reads it again when the revision has moved. Revision 0 is the empty
-- set no one has written yet (a node may import its own file into it).
CREATE TABLE shared_accounts (
    id INT PRIMARY KEY,
    revision BIGINT NOT NULL,
    document TEXT NOT NULL
);
INSERT INTO shared_accounts (id, revision, document) VALUES (1, 0, '');

-- Each mailbox's settings (vacation, forwarding, blocked senders: the
-- text of its rules file, NULL when none is set) and the vacation's
-- memory of whom it answered (the text of its replied file).
CREATE TABLE mailbox_settings (
    domain TEXT NOT NULL,
    username TEXT NOT NULL,
    rules TEXT,
    replied TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (domain, username)
);

-- The POP3 maildrop lock (RFC 1939 8) across nodes: one row per mailbox
-- a POP3 session holds, with an expiry from the database's clock that the
-- holder renews while its session lives; a lock whose expiry has passed
-- (its node was killed) is free. `token` tells the holder's own row from
-- a later holder's.
CREATE TABLE pop3_locks (
    domain TEXT NOT NULL,
    username TEXT NOT NULL,
    node_id INT NOT NULL,
    token BIGINT NOT NULL,
    expires TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (domain, username)
);
