"""Changes flags, keywords and folders with imaplib, then prints what IMAP
sees, for the test to compare with what Dovecot's doveadm reads.

usage: imap_changes.py HOST PORT USER PASSWORD
Expects four messages in INBOX (UIDs 1 to 4). Does STORE (flags and
keywords), CREATE, RENAME, COPY, MOVE and EXPUNGE, then prints one line
per message of every folder LIST shows: "view FOLDER UID FLAG FLAG...",
the flags sorted, \\Recent left out. A command that fails ends the run.
"""
import imaplib
import re
import sys

host, port, user, password = sys.argv[1:5]


def ok(result):
    typ, data = result
    if typ != "OK":
        sys.exit(f"failed: {typ} {data}")
    return data


imap = imaplib.IMAP4(host, int(port), timeout=30)
ok(imap.login(user, password))
ok(imap.select("INBOX"))
ok(imap.uid("STORE", "1", "+FLAGS", "(\\Seen \\Flagged work)"))
ok(imap.uid("STORE", "2", "+FLAGS", "(\\Answered $Label1 work)"))
ok(imap.uid("STORE", "2", "-FLAGS", "(work)"))
ok(imap.create("Temp"))
ok(imap.rename("Temp", "Reports"))
ok(imap.create("Reports.2026"))
ok(imap.create("Work"))
ok(imap.uid("COPY", "1:2", "Reports"))
ok(imap.uid("MOVE", "3", "Work"))
ok(imap.uid("STORE", "4", "+FLAGS", "(\\Deleted)"))
ok(imap.expunge())
ok(imap.select("Reports"))
ok(imap.uid("STORE", "1", "+FLAGS", "(copied \\Draft)"))
ok(imap.select("Reports.2026"))
ok(imap.append("Reports.2026", "(\\Seen later)", None, b"Subject: appended\r\n\r\nHi.\r\n"))
ok(imap.close())

folders = []
for line in ok(imap.list()):
    folders.append(re.search(rb'"([^"]*)"$', line).group(1).decode())
print("folders", " ".join(sorted(folders)), flush=True)
for folder in sorted(folders):
    data = ok(imap.select(folder, readonly=True))
    if int(data[0]) == 0:
        continue
    for item in ok(imap.uid("FETCH", "1:*", "(UID FLAGS)")):
        match = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)", item)
        if match.group(1):
            uid, flags = match.group(1), match.group(2)
        else:
            uid, flags = match.group(4), match.group(3)
        flags = sorted(f for f in flags.decode().split() if f != "\\Recent")
        print("view", folder, uid.decode(), *flags, flush=True)
imap.logout()
