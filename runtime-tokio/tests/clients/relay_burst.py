"""Sends COUNT messages over one SMTP session, to user0@DOMAIN,
user1@DOMAIN, ... in turn, each with its recipient in the subject.

usage: relay_burst.py HOST PORT COUNT DOMAIN
Prints "OK COUNT" when every message got its 250.
"""
import smtplib
import sys

host, port, count, domain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with smtplib.SMTP(host, port, timeout=30) as smtp:
    smtp.ehlo("burst.test")
    for n in range(count):
        to = f"user{n}@{domain}"
        body = f"From: alice@origin.test\r\nTo: {to}\r\nSubject: for {to}\r\n\r\nHello.\r\n"
        smtp.sendmail("alice@origin.test", [to], body)
print(f"OK {count}")
