"""Two clients on one mailbox: imapclient IDLEs on INBOX while imaplib, in
another session, flags message 1 and expunges message 2. Prints what the
IDLE heard and how long after the other session's tagged OK.

usage: imap_two_sessions.py HOST PORT USER PASSWORD
Expects at least two messages in INBOX. Prints "flag seen after: SECONDS"
and "expunge seen after: SECONDS" (or "... not seen"), then the IDLE
client's view once it is done: "exists after: N".
"""
import imaplib
import sys
import time

from imapclient import IMAPClient

host, port, user, password = sys.argv[1:5]
port = int(port)

idler = IMAPClient(host, port=port, ssl=False, timeout=30)
idler.login(user, password)
idler.select_folder("INBOX")
idler.idle()

other = imaplib.IMAP4(host, port, timeout=30)
other.login(user, password)
other.select("INBOX")


def wait_for(what, matches):
    """Waits up to 5 s for an IDLE response that `matches`."""
    start = time.monotonic()
    while time.monotonic() < start + 5:
        for response in idler.idle_check(timeout=0.1):
            if matches(response):
                print(f"{what} seen after: {time.monotonic() - start:.3f}", flush=True)
                return
    print(f"{what} not seen", flush=True)


typ, _ = other.store("1", "+FLAGS", "(\\Flagged)")
assert typ == "OK", typ
wait_for(
    "flag",
    lambda r: len(r) >= 3 and r[0] == 1 and r[1] == b"FETCH" and b"\\Flagged" in r[2][r[2].index(b"FLAGS") + 1],
)
typ, _ = other.store("2", "+FLAGS", "(\\Deleted)")
assert typ == "OK", typ
typ, _ = other.expunge()
assert typ == "OK", typ
wait_for("expunge", lambda r: len(r) >= 2 and r[0] == 2 and r[1] == b"EXPUNGE")
idler.idle_done()
print("exists after:", idler.select_folder("INBOX")[b"EXISTS"], flush=True)
other.logout()
idler.logout()
