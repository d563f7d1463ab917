"""A scripted remote mail server for outbound tests, built on aiosmtpd.

usage: sink.py HOST PORT LOG [--reject] [--tempfail N] [--silent]
               [--auth USER:PASS] [--data-delay SECONDS] [--rcpt-delay SECONDS]
               [--drop-at-mail N] [--drop-in-data N]

Writes one JSON line to LOG per event:
  {"event": "message", "from": ..., "to": [...], "data": ..., "auth": ...}
  {"event": "open", "open": N, "max": M}   (after each new connection)
  {"event": "mail"}                         (each MAIL, each transaction)
  {"event": "rcpt", "to": ...}              (each RCPT, as it comes)
  {"event": "dropped", "at": "MAIL"|"DATA"} (a connection hung up on)
--reject      answers every RCPT with 550 5.1.1
--reject-to A answers RCPT TO:<A> with 550 5.1.1 (may be repeated)
--tempfail N  answers the first N DATA commands with 451 4.3.0
--silent      accepts connections and never says a word
--auth U:P    requires AUTH (PLAIN or LOGIN, no TLS) with these credentials
--data-delay  waits this long before answering the end of data
--rcpt-delay  waits this long before answering each RCPT
--drop-at-mail N  hangs up, without a reply, on the Nth MAIL that is not
              the first of its connection (a reused connection)
--drop-in-data N  hangs up on the Nth message once its data is in, before
              answering it (the message is not logged)
Prints "ready" once listening.
"""
import argparse
import asyncio
import json
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("host")
parser.add_argument("port", type=int)
parser.add_argument("log")
parser.add_argument("--reject", action="store_true")
parser.add_argument("--reject-to", action="append", default=[])
parser.add_argument("--tempfail", type=int, default=0)
parser.add_argument("--silent", action="store_true")
parser.add_argument("--auth")
parser.add_argument("--data-delay", type=float, default=0)
parser.add_argument("--rcpt-delay", type=float, default=0)
parser.add_argument("--drop-at-mail", type=int, default=0)
parser.add_argument("--drop-in-data", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
counts = {"open": 0, "max": 0, "tempfail": args.tempfail, "mail": 0, "data": 0}


def log(record):
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(record) + "\n")


def hang_up(server, at):
    """Drops the connection at once: no reply, not even one queued."""
    log({"event": "dropped", "at": at})
    server.transport.abort()


class Handler:
    async def handle_MAIL(self, server, session, envelope, address, options):
        session.mails = getattr(session, "mails", 0) + 1
        with lock:
            if session.mails > 1:
                counts["mail"] += 1
            drop = session.mails > 1 and counts["mail"] == args.drop_at_mail
        log({"event": "mail"})
        if drop:
            hang_up(server, "MAIL")
            return "421 4.3.0 gone"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        log({"event": "rcpt", "to": address})
        if args.rcpt_delay:
            await asyncio.sleep(args.rcpt_delay)
        if args.reject or address in args.reject_to:
            return f"550 5.1.1 <{address}>: no such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if args.data_delay:
            await asyncio.sleep(args.data_delay)
        with lock:
            counts["data"] += 1
            drop = counts["data"] == args.drop_in_data
        if drop:
            hang_up(server, "DATA")
            return "421 4.3.0 gone"
        with lock:
            if counts["tempfail"] > 0:
                counts["tempfail"] -= 1
                return "451 4.3.0 try again later"
        user = session.auth_data.login.decode() if session.auth_data else None
        log({
            "event": "message",
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "auth": user,
        })
        return "250 2.0.0 OK: queued"


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        with lock:
            counts["open"] += 1
            counts["max"] = max(counts["max"], counts["open"])
            record = {"event": "open", "open": counts["open"], "max": counts["max"]}
        log(record)
        super().connection_made(transport)

    def connection_lost(self, error):
        with lock:
            counts["open"] -= 1
        super().connection_lost(error)


class CountingController(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=ok, auth_data=auth_data)


if args.silent:
    async def hold(reader, writer):
        await asyncio.sleep(3600)

    async def main():
        server = await asyncio.start_server(hold, args.host, args.port)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
else:
    kwargs = {"server_hostname": "sink.test"}
    if args.auth:
        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=False
        )
    controller = CountingController(Handler(), hostname=args.host, port=args.port, **kwargs)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
