-- Mailboxes: each user's folders, their messages (UID, MODSEQ, flags,
-- keywords, internal date, size, and the blob holding the bytes), the
-- UIDs expunged with the MODSEQ of their expunge, and subscriptions.
--
-- Same subset as 0001: no PL/pgSQL, no triggers, no SERIAL. Keys are
-- BIGINTs Postern makes (folder IDs carry the node ID, as queue IDs do);
-- UIDs and MODSEQs are allocated by an UPDATE of the folder's row in the
-- transaction that writes the message, so two nodes never hand out the
-- same UID.

-- One row per user whose mailbox exists: made, with INBOX and the
-- default folders, on first use. `last_uid_validity` is the highest
-- UIDVALIDITY any of the user's folders was given, so that a folder
-- deleted and made again under its name never gets its old one back
-- (RFC 9051 2.3.1.1).
CREATE TABLE mail_users (
    domain TEXT NOT NULL,
    username TEXT NOT NULL,
    last_uid_validity BIGINT NOT NULL,
    PRIMARY KEY (domain, username)
);

CREATE TABLE mail_folders (
    folder_id BIGINT PRIMARY KEY,
    domain TEXT NOT NULL,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid_next BIGINT NOT NULL,
    highest_modseq BIGINT NOT NULL,
    -- Changes from this MODSEQ on are known (older tombstones pruned).
    changes_from BIGINT NOT NULL,
    -- The use CREATE ... USE gave (RFC 6154), as `\Flagged`; the default
    -- folders' uses come from their names.
    special_use TEXT NULL,
    FOREIGN KEY (domain, username) REFERENCES mail_users (domain, username),
    UNIQUE (domain, username, name)
);

CREATE TABLE mail_messages (
    folder_id BIGINT NOT NULL REFERENCES mail_folders (folder_id),
    uid BIGINT NOT NULL,
    -- The MODSEQ of its last change, and the one it was appended at.
    modseq BIGINT NOT NULL,
    appended_modseq BIGINT NOT NULL,
    -- postern_core::mailbox::row: system flags as bits, keywords as words.
    flags INT NOT NULL,
    keywords TEXT NOT NULL,
    -- Seconds since the Unix epoch.
    internal_date BIGINT NOT NULL,
    -- Octets with CRLF line ends, as the blob holds them.
    size BIGINT NOT NULL,
    -- Shared by the copies COPY makes; deleted with the last reference.
    blob_id BIGINT NOT NULL REFERENCES blobs (blob_id),
    PRIMARY KEY (folder_id, uid)
);

CREATE INDEX mail_messages_changed ON mail_messages (folder_id, modseq);
CREATE INDEX mail_messages_blob ON mail_messages (blob_id);
CREATE INDEX queue_messages_blob ON queue_messages (blob_id);

-- Tombstones: for QRESYNC VANISHED and `changes_since`.
CREATE TABLE mail_expunged (
    folder_id BIGINT NOT NULL REFERENCES mail_folders (folder_id),
    uid BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    PRIMARY KEY (folder_id, uid)
);

CREATE INDEX mail_expunged_changed ON mail_expunged (folder_id, modseq);

-- A folder's keywords in the order of first use: at most 26, the letters
-- Dovecot gives them in a Maildir, so that every folder can be exported.
CREATE TABLE mail_keywords (
    folder_id BIGINT NOT NULL REFERENCES mail_folders (folder_id),
    idx INT NOT NULL,
    word TEXT NOT NULL,
    PRIMARY KEY (folder_id, idx),
    UNIQUE (folder_id, word)
);

-- Subscribed names (which need not exist, RFC 9051 6.3.7), in the order
-- they were subscribed.
CREATE TABLE mail_subscriptions (
    domain TEXT NOT NULL,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (domain, username, name)
);
