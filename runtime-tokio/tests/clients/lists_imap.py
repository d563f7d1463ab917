"""A list archive as an IMAP shared folder, read with python's imaplib.

usage: lists_imap.py HOST PORT SCENARIO USER PASSWORD FOLDER
SCENARIO: member (NAMESPACE, LIST, STATUS, SELECT the archive read-only,
FETCH, SEARCH, a refused STORE and APPEND, COPY out to a folder,
SUBSCRIBE and LSUB, and the Message-IDs in the archive, INBOX and the copy), stranger (LIST, and a SELECT refused).
One line per step; server errors are printed, not raised.
"""
import imaplib
import re
import sys

host, port, scenario, user, password, folder = sys.argv[1:7]
quoted = '"' + folder + '"'


def text(value):
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return value


def show(label, call):
    try:
        result = text(call())
    except (imaplib.IMAP4.error, imaplib.IMAP4.abort) as error:
        result = "error: " + str(error)
    print(f"{label}: {result}", flush=True)
    return result


def message_ids(imap, mailbox):
    """The Message-IDs in a mailbox, opened read-only."""
    imap.select(mailbox, readonly=True)
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    found = []
    for item in data:
        if isinstance(item, tuple):
            found += re.findall(rb"<[^>]+>", item[1])
    return [f.decode() for f in found]


imap = imaplib.IMAP4(host, int(port))
show("login", lambda: imap.login(user, password)[0])
show("namespace", lambda: imap.namespace()[1])
show("list", lambda: imap.list()[1])
if scenario == "member":
    show("status", lambda: imap.status(quoted, "(MESSAGES UNSEEN)")[1])
    # SELECT (not EXAMINE) answers [READ-ONLY]: imaplib, which asked to
    # write, says "is not writable"; the session goes on as EXAMINE would.
    show("select", lambda: imap.select(quoted))
    show("examine", lambda: imap.select(quoted, readonly=True))
    show("fetch", lambda: imap.fetch("1", "(FLAGS BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)])")[1])
    show("flags after", lambda: imap.fetch("1", "(FLAGS)")[1])
    show("search", lambda: imap.search(None, "SUBJECT", "plans")[1])
    show("store", lambda: imap.store("1", "+FLAGS", "(\\Seen \\Deleted)"))
    show("append", lambda: imap.append(quoted, None, None, b"Subject: x\r\n\r\nx\r\n"))
    show("copy out", lambda: imap.copy("1", "Saved") if imap.create("Saved") else None)
    show("subscribe", lambda: imap.subscribe(quoted)[0])
    show("lsub", lambda: imap.lsub('""', '"#lists/*"')[1])
    show("archive ids", lambda: message_ids(imap, quoted))
    show("inbox ids", lambda: message_ids(imap, "INBOX"))
    show("saved ids", lambda: message_ids(imap, "Saved"))
elif scenario == "stranger":
    show("select", lambda: imap.select(quoted))
    show("status", lambda: imap.status(quoted, "(MESSAGES)"))
else:
    sys.exit(f"unknown scenario {scenario}")
show("logout", lambda: imap.logout()[0])
