"""Sends COUNT messages to alice@example.test over one SMTP session with
python's smtplib, timing each from MAIL to the 250 after DATA.

usage: timed_burst.py HOST PORT COUNT
Prints "ACK N QUEUE_ID" for each message, then "SLOWEST SECONDS".
"""
import smtplib
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
slowest = 0.0
with smtplib.SMTP(host, port, timeout=30) as smtp:
    smtp.ehlo("burst.test")
    for n in range(count):
        started = time.monotonic()
        smtp.mail("sender@remote.test")
        smtp.rcpt("alice@example.test")
        code, reply = smtp.data(f"Subject: burst {n}\r\n\r\nline\r\n".encode())
        slowest = max(slowest, time.monotonic() - started)
        if code != 250:
            print(f"REFUSED {n} {code}", flush=True)
            sys.exit(1)
        queue_id = reply.decode().rsplit(" ", 1)[-1]
        print(f"ACK {n} {queue_id}", flush=True)
print(f"SLOWEST {slowest:.3f}", flush=True)
