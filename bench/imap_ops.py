#!/usr/bin/env python3
"""bench/imap_ops.py: the cost of single IMAP commands, one session.

Against a running server (postern or Dovecot) on loopback, in one session
with python3's imaplib: APPEND of N small messages to INBOX, SELECT, M
NOOPs, K single-message STOREs (+FLAGS \\Flagged on UIDs 1..K), K
single-message FETCHes of a body. Prints, for each, the total and the
mean per command. A printed measurement, not a test: nothing is asserted
but that every reply was OK.

The socket has TCP_NODELAY (see below). The user's INBOX should start empty (the figures are for a mailbox of N
messages).

Usage:
    bench/imap_ops.py --port 2143 --user bench@bench.test --password PW
        [--appends 200] [--noops 100] [--stores 20]
"""

import argparse
import imaplib
import socket
import time

MESSAGE = (
    "From: bench@bench.test\r\n"
    "To: bench@bench.test\r\n"
    "Subject: message {n}\r\n"
    "Message-ID: <{n}.{stamp}@bench.test>\r\n"
    "\r\n"
    "A small message, number {n}.\r\n"
)


def ok(reply):
    status, data = reply
    if status != "OK":
        raise SystemExit(f"not OK: {status} {data!r}")
    return data


def timed(label, count, work):
    started = time.perf_counter()
    for i in range(count):
        work(i)
    total = time.perf_counter() - started
    per = total / count * 1000 if count else 0.0
    print(f"{label:<10} {count:>5}   {total:8.3f} s   {per:8.2f} ms each")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2143)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--noops", type=int, default=100)
    parser.add_argument("--stores", type=int, default=20)
    args = parser.parse_args()

    imap = imaplib.IMAP4(args.host, args.port)
    # imaplib sends an APPEND's literal and its closing CRLF as two small
    # writes: with Nagle's algorithm the second waits for the server's
    # delayed ACK (tens of ms), a cost of the client, not the server.
    imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ok(imap.login(args.user, args.password))
    stamp = time.time_ns()
    print(f"{'command':<10} {'count':>5}   {'total':>10}   {'mean':>16}")
    timed(
        "APPEND",
        args.appends,
        lambda n: ok(
            imap.append(
                "INBOX", None, None, MESSAGE.format(n=n, stamp=stamp).encode()
            )
        ),
    )
    ok(imap.select("INBOX"))
    timed("NOOP", args.noops, lambda _: ok(imap.noop()))
    stores = min(args.stores, args.appends)
    timed(
        "STORE",
        stores,
        lambda i: ok(imap.uid("STORE", str(i + 1), "+FLAGS", "(\\Flagged)")),
    )
    timed(
        "FETCH",
        stores,
        lambda i: ok(imap.uid("FETCH", str(i + 1), "(BODY.PEEK[])")),
    )
    imap.logout()


if __name__ == "__main__":
    main()
