#!/usr/bin/env python3
"""POP3 load for bench/pop3.sh: parallel clients with python's poplib.

usage: pop3_load.py HOST PORT USER_FORMAT PASSWORD CLIENTS SECONDS MESSAGES

Client i (1..CLIENTS), a process of its own, logs in as USER_FORMAT % i
(e.g. "bench%02d@bench.test"): each client has its own maildrop, because
a POP3 server locks the maildrop for the whole session (RFC 1939 section
8) and clients sharing one would mostly be told it is in use. For SECONDS
seconds each client runs sessions back to back:

    USER, PASS, STAT, UIDL, RETR 1 .. RETR n, QUIT

and never deletes. A session counts when every reply was +OK, STAT said
MESSAGES messages, and every RETR brought as many octets as STAT's total
(so a server that sent less is caught, not counted as faster).

Prints one line: "sessions N errors E seconds S" (S is the wall time from
the start signal until the last client stopped). Exit status 1 if any
session failed, with the first failures on stderr.
"""
import multiprocessing
import poplib
import sys
import time


def session(host, port, user, password, messages):
    pop = poplib.POP3(host, port, timeout=30)
    try:
        pop.user(user)
        pop.pass_(password)
        count, total = pop.stat()
        if count != messages:
            raise RuntimeError(f"STAT says {count} messages, not {messages}")
        _, uids, _ = pop.uidl()
        if len(uids) != count:
            raise RuntimeError(f"UIDL listed {len(uids)} of {count} messages")
        octets = 0
        for n in range(1, count + 1):
            _, lines, size = pop.retr(n)
            # poplib's size counts each line with its CRLF, as RFC 1939's
            # octet counts do (dot-stuffing removed).
            octets += size
        if octets != total:
            raise RuntimeError(f"RETR brought {octets} octets, STAT said {total}")
        pop.quit()
    finally:
        pop.close()


def client(args):
    host, port, user, password, messages, start_at, seconds = args
    done = 0
    errors = []
    while time.time() < start_at:
        time.sleep(0.001)
    stop_at = start_at + seconds
    while time.time() < stop_at:
        try:
            session(host, port, user, password, messages)
            done += 1
        except Exception as error:  # a failed session is reported, not hidden
            errors.append(f"{user}: {type(error).__name__}: {error}")
            time.sleep(0.01)
    return done, errors, time.time()


def main():
    host, port, user_format, password, clients, seconds, messages = sys.argv[1:8]
    port, clients, messages = int(port), int(clients), int(messages)
    seconds = float(seconds)
    # Every client starts at the same moment, after all have been forked.
    start_at = time.time() + 0.5
    jobs = [
        (host, port, user_format % i, password, messages, start_at, seconds)
        for i in range(1, clients + 1)
    ]
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(client, jobs)
    sessions = sum(done for done, _, _ in results)
    errors = [error for _, errs, _ in results for error in errs]
    elapsed = max(end for _, _, end in results) - start_at
    print(f"sessions {sessions} errors {len(errors)} seconds {elapsed:.3f}")
    for error in errors[:5]:
        print(error, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
