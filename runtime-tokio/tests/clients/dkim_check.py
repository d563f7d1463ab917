"""Checks a message's DKIM signatures with dkimpy, a verifier nobody here
wrote, answering its DNS queries from the records given.

usage: dkim_check.py MESSAGE_FILE NAME=TXT [NAME=TXT ...]
Prints one line per DKIM-Signature, top down: "pass" or "fail", the a=
algorithm, d= and s=; then "tampered:" and the same for a copy of the
message whose body had one word changed, as on the way through a
careless relay.
"""
import re
import sys

import dkim

message_file, *pairs = sys.argv[1:]
records = {}
for pair in pairs:
    name, txt = pair.split("=", 1)
    records[name.rstrip(".").lower()] = txt.encode()


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip(".").lower())


def check(message):
    count = len(re.findall(rb"(?im)^DKIM-Signature:", message))
    signer = dkim.DKIM(message)
    for index in range(count):
        try:
            ok = signer.verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException as error:
            print("error:", error, file=sys.stderr)
            ok = False
        tags = signer.signature_fields
        algorithm = tags.get(b"a", b"?").decode()
        domain = tags.get(b"d", b"?").decode()
        selector = tags.get(b"s", b"?").decode()
        print("pass" if ok else "fail", algorithm, domain, selector)


with open(message_file, "rb") as f:
    message = f.read()
check(message)
print("tampered:")
head, body = message.split(b"\r\n\r\n", 1)
check(head + b"\r\n\r\n" + body.replace(b"Hello", b"Jello", 1))
