"""Sends messages with python's smtplib to several servers in turn, from
several threads, for a while; logs every outcome.

usage: nodes_load.py LOG SECONDS THREADS PAUSE HOST:PORT [HOST:PORT...]

Each thread sends one message per connection, to the servers in turn,
waiting PAUSE seconds between messages, until SECONDS have passed. Every
message has a Message-ID of its own (<nN.TTTT@load.test>) and is for
"rN@remote.test". One JSON line per message to LOG:
  {"id": "<...>", "server": "HOST:PORT", "ok": true}       answered 250
  {"id": "<...>", "server": "HOST:PORT", "ok": false, "error": "..."}
A server that is down, paused or killed mid-session gives "ok": false
(the socket times out after 5 seconds). Each line also has "t", the
wall-clock time (seconds since the epoch) when the outcome came.
Prints the counts at the end.

With LOAD_RCPT set in the environment, every message is for that
address instead (a local user, to count copies in the mailboxes), and
LOAD_TIMEOUT sets the socket's timeout in seconds (default 5).
"""
import os
import json
import smtplib
import sys
import threading
import time

log_path, seconds, threads, pause = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
fixed_rcpt = os.environ.get("LOAD_RCPT")
timeout = float(os.environ.get("LOAD_TIMEOUT", "5"))
servers = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in sys.argv[5:]]
deadline = time.monotonic() + seconds
lock = threading.Lock()
counts = {"ok": 0, "failed": 0}
log = open(log_path, "a")


def record(entry):
    with lock:
        counts["ok" if entry["ok"] else "failed"] += 1
        log.write(json.dumps(entry) + "\n")
        log.flush()


def worker(t):
    n = 0
    while time.monotonic() < deadline:
        host, port = servers[(n + t) % len(servers)]
        message_id = f"<n{n}.t{t}@load.test>"
        rcpt = fixed_rcpt or f"r{t}x{n}@remote.test"
        text = (
            f"From: load@client.test\r\nTo: {rcpt}\r\nMessage-ID: {message_id}\r\n"
            f"Subject: load {t} {n}\r\n\r\nbody of {message_id}\r\n"
        )
        entry = {"id": message_id, "server": f"{host}:{port}"}
        smtp = None
        try:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            smtp.ehlo("client.test")
            smtp.sendmail("load@client.test", [rcpt], text.encode())
            entry["ok"] = True  # the 250 after DATA came
        except Exception as e:  # refused, timed out, 4xx: not accepted
            entry["ok"] = False
            entry["error"] = f"{type(e).__name__}: {e}"
        entry["t"] = time.time()
        if smtp is not None:
            try:
                smtp.quit()  # what QUIT meets changes nothing above
            except Exception:
                smtp.close()
        record(entry)
        n += 1
        time.sleep(pause)


workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps(counts))
