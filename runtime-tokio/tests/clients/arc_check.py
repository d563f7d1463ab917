"""Checks a message's ARC chain with dkimpy, a verifier nobody here wrote,
answering its DNS queries from the records given.

usage: arc_check.py MESSAGE_FILE NAME=TXT [NAME=TXT ...]
Prints the chain validation dkimpy finds ("pass", "fail" or "none") and
its reason, on one line.
"""
import sys

import dkim

message_file, *pairs = sys.argv[1:]
records = {}
for pair in pairs:
    name, txt = pair.split("=", 1)
    records[name.rstrip(".").lower()] = txt.encode()


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip(".").lower())


with open(message_file, "rb") as f:
    message = f.read()
# A Maildir copy has bare LF line ends; on the wire they were CRLF.
message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
cv, results, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
print(cv.decode(), reason)
