"""Sends messages one after another, printing each queue ID as soon as
the server acknowledges it, until killed or done.

usage: burst.py HOST PORT COUNT [FIRST]
Each message's subject is "burst N", N from FIRST (default 0) on; each
acknowledged message prints
"ACK N QUEUE_ID" (flushed at once, so a reader sees every 250 that was
given even if this process is then killed).
"""
import smtplib
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
try:
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("burst.test")
        for n in range(first, first + count):
            body = f"Subject: burst {n}\r\n\r\n" + ("payload line\r\n" * 200)
            smtp.mail("sender@remote.test")
            smtp.rcpt("alice@example.test")
            code, reply = smtp.data(body.encode())
            if code == 250:
                queue_id = reply.decode().rsplit(" ", 1)[-1]
                print(f"ACK {n} {queue_id}", flush=True)
except (smtplib.SMTPException, OSError) as e:
    print(f"STOPPED {e!r}", flush=True)
