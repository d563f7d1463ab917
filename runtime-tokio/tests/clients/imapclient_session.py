"""A session with the imapclient library (PyPI), printing one line per step.

usage: imapclient_session.py HOST PORT USER PASSWORD SMTP_PORT
Logs in, selects INBOX, searches, fetches BODYSTRUCTURE, sets flags,
appends, moves, then IDLEs while it sends a message through SMTP with
smtplib, and prints how long after the SMTP transaction ended the IDLE
reported the new message ("idle delay: SECONDS"), or "idle: nothing".
"""
import smtplib
import sys
import time

from imapclient import IMAPClient

host, port, user, password, smtp_port = sys.argv[1:6]


def show(label, value):
    print(f"{label}: {value!r}", flush=True)


client = IMAPClient(host, port=int(port), ssl=False, timeout=30)
show("login", client.login(user, password))
show("capabilities has IDLE", b"IDLE" in client.capabilities())
show("capabilities has MOVE", b"MOVE" in client.capabilities())
selected = client.select_folder("INBOX")
show("select exists", selected[b"EXISTS"])
show("select uidvalidity positive", selected[b"UIDVALIDITY"] > 0)
uids = client.search(["ALL"])
show("search all", uids)
show("search subject", client.search(["SUBJECT", "message 0"]))
fetched = client.fetch(uids[:1], ["BODYSTRUCTURE", "RFC822.SIZE", "ENVELOPE"])
record = fetched[uids[0]]
show("bodystructure type", (record[b"BODYSTRUCTURE"][0], record[b"BODYSTRUCTURE"][1]))
show("envelope subject", record[b"ENVELOPE"].subject)
show("size positive", record[b"RFC822.SIZE"] > 0)
show("add flags", client.add_flags(uids[:1], [b"\\Answered", b"Work"]))
show("get flags", client.get_flags(uids[:1]))
show("remove flags", client.remove_flags(uids[:1], [b"Work"]))
show("get flags again", client.get_flags(uids[:1]))
appended = client.append("INBOX", b"Subject: appended by imapclient\r\n\r\nBody.\r\n", flags=[b"\\Draft"])
show("append", appended)
# UTF-8 in a body that declares no charset (US-ASCII by default), as much
# mail is written: SEARCH BODY with CHARSET UTF-8 finds it.
client.append("INBOX", "Subject: undeclared\r\n\r\nUn caf\u00e9 cr\u00e8me.\r\n".encode())
show("search utf-8 body", client.search(["BODY", "café crème"], charset="UTF-8"))
if not client.folder_exists("Later"):
    show("create", client.create_folder("Later"))
show("move", client.move(uids[:1], "Later"))
show("search after move", client.search(["ALL"]))
show("folder status", client.folder_status("Later", [b"MESSAGES"]))

client.idle()
# The IDLE continuation has come back: the server listens. Send a message.
with smtplib.SMTP(host, int(smtp_port), timeout=30) as smtp:
    smtp.sendmail("bob@remote.test", [user], b"Subject: while idling\r\n\r\nHello.\r\n")
sent = time.monotonic()
reported = None
deadline = sent + 10
while time.monotonic() < deadline and reported is None:
    for response in client.idle_check(timeout=0.1):
        if len(response) >= 2 and response[1] == b"EXISTS":
            reported = time.monotonic()
            break
client.idle_done()
if reported is None:
    print("idle: nothing", flush=True)
else:
    print(f"idle delay: {reported - sent:.3f}", flush=True)
show("search idle subject", len(client.search(["SUBJECT", "while idling"])))
show("logout", client.logout())
