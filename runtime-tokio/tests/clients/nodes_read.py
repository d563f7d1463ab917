#!/usr/bin/env python3
"""Reads one user's mail through three nodes of one database.

Usage: nodes_read.py USER PASSWORD IMAP_A SMTP_B POP3_C POP3_A [WEB_C]
(each HOST:PORT). On node A, imaplib logs in, selects INBOX and sends
IDLE over its socket (imaplib has no idle()); smtplib then sends a
message to USER through node B, and the script waits for node A's
"* N EXISTS" and prints how long after the SMTP transaction ended it
came ("idle delay: SECONDS"). Then it prints the INBOX's UIDs as IMAP on
node A sees them, and the UIDLs and subjects as poplib sees them on node
C and on node A.
"""

import imaplib
import poplib
import smtplib
import socket
import sys
import time

user, password, imap_a, smtp_b, pop_c, pop_a = sys.argv[1:7]


def split(spec):
    host, port = spec.rsplit(":", 1)
    return host, int(port)


imap = imaplib.IMAP4(*split(imap_a))
imap.login(user, password)
typ, data = imap.select("INBOX")
before = int(data[0])
print("exists before:", before, flush=True)

tag = b"a001"
imap.send(tag + b" IDLE\r\n")
line = imap.readline()
print("idle answer:", line.decode().strip(), flush=True)

subject = "through node B"
message = f"From: carol@client.test\r\nTo: {user}\r\nSubject: {subject}\r\n\r\nhello\r\n"
with smtplib.SMTP(*split(smtp_b)) as smtp:
    smtp.sendmail("carol@client.test", [user], message)
sent = time.monotonic()

imap.sock.settimeout(10)
seen = None
try:
    while True:
        line = imap.readline()
        if not line:
            break
        words = line.split()
        if len(words) == 3 and words[0] == b"*" and words[2] == b"EXISTS":
            if int(words[1]) > before:
                seen = time.monotonic()
                print("exists after:", int(words[1]), flush=True)
                break
except socket.timeout:
    pass
if seen is None:
    print("idle: nothing", flush=True)
else:
    print(f"idle delay: {seen - sent:.3f}", flush=True)
imap.send(b"DONE\r\n")
while True:
    line = imap.readline()
    if line.startswith(tag):
        print("idle done:", line.decode().strip(), flush=True)
        break
imap.sock.settimeout(None)
typ, data = imap.uid("SEARCH", None, "ALL")
print("imap uids A:", data[0].decode(), flush=True)
typ, data = imap.status("INBOX", "(UIDVALIDITY)")
print("imap status A:", data[0].decode(), flush=True)
imap.logout()


def pop3(name, spec):
    pop = poplib.POP3(*split(spec))
    pop.user(user)
    pop.pass_(password)
    print(f"uidl {name}:", " ".join(l.decode() for l in pop.uidl()[1]), flush=True)
    subjects = []
    for entry in pop.list()[1]:
        number = entry.split()[0].decode()
        lines = pop.retr(number)[1]
        subjects.append(
            next(
                (l.decode()[9:] for l in lines if l.startswith(b"Subject: ")), ""
            )
        )
    print(f"subjects {name}:", "|".join(subjects), flush=True)
    pop.quit()


pop3("C", pop_c)
pop3("A", pop_a)
