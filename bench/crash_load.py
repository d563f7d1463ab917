#!/usr/bin/env python3
"""SMTP load for bench/crash.sh: sends until told to stop, records what was
acknowledged.

usage: crash_load.py HOST PORT RECIPIENT SESSIONS ACKED_FILE STOP_FILE

SESSIONS threads each send messages back to back with python's smtplib, a
connection per message, until STOP_FILE exists. Every message carries a
header `X-Crash-Id: T-N` (thread T, its Nth try), unique over the run. A
message is acknowledged when the server answered 250 after DATA
(smtplib's sendmail returned); its id is then appended to ACKED_FILE, one
line each, flushed at once. Any failure (the server was killed, the
connection was refused or cut) is not an acknowledgement: the thread waits
a moment and sends a new message with a new id. Such a message may still be
delivered (the server may have written it before it died); crash.sh counts
those apart, and they are not duplicates.

Prints one line when stopped: "tries N acknowledged A failed F".
"""
import os
import smtplib
import sys
import threading
import time

BODY = ("x" * 76 + "\r\n") * 50  # about 4 KiB, as accept.sh sends


def sender(index, host, port, recipient, stop_file, acked, lock, counts):
    n = 0
    while not os.path.exists(stop_file):
        n += 1
        crash_id = f"{index}-{n}"
        message = (
            f"From: crash@src.test\r\nTo: {recipient}\r\n"
            f"Subject: crash bench {crash_id}\r\nX-Crash-Id: {crash_id}\r\n\r\n{BODY}"
        )
        try:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.sendmail("crash@src.test", [recipient], message)
        except (OSError, smtplib.SMTPException):
            with lock:
                counts["failed"] += 1
            time.sleep(0.05)
            continue
        with lock:
            acked.write(crash_id + "\n")
            acked.flush()
            counts["acknowledged"] += 1


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    host, port, recipient, sessions, acked_file, stop_file = sys.argv[1:]
    lock = threading.Lock()
    counts = {"acknowledged": 0, "failed": 0}
    with open(acked_file, "a") as acked:
        threads = [
            threading.Thread(
                target=sender,
                args=(i, host, int(port), recipient, stop_file, acked, lock, counts),
            )
            for i in range(1, int(sessions) + 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    tries = counts["acknowledged"] + counts["failed"]
    print(f"tries {tries} acknowledged {counts['acknowledged']} failed {counts['failed']}")


if __name__ == "__main__":
    main()
