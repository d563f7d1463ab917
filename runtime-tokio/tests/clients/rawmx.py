"""A bare-bones remote mail server on raw sockets, for outbound tests of
what aiosmtpd will not do: offer no 8BITMIME, answer DATA with a 250.

usage: rawmx.py HOST PORT LOG [--ext KEYWORD]... [--data-reply REPLY]
                 [--rcpt-reply REPLY]

Offers only the EHLO keywords given with --ext. Writes one JSON line to
LOG per command ({"event": "command", "line": ...}) and per message
received ({"event": "message", "data": ...}). --data-reply answers DATA
with REPLY (for example "250 2.0.0 no need") instead of 354;
--rcpt-reply answers every RCPT with REPLY, sent as given (it may hold
CR LF between lines of a multi-line reply, or anything else). Prints
"ready" once listening.
"""
import argparse
import asyncio
import json

parser = argparse.ArgumentParser()
parser.add_argument("host")
parser.add_argument("port", type=int)
parser.add_argument("log")
parser.add_argument("--ext", action="append", default=[])
parser.add_argument("--data-reply")
parser.add_argument("--rcpt-reply")
args = parser.parse_args()


def log(record):
    with open(args.log, "a") as f:
        f.write(json.dumps(record) + "\n")


async def session(reader, writer):
    def say(text):
        writer.write(text.encode() + b"\r\n")

    say("220 rawmx.test ESMTP")
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            command = line.rstrip(b"\r\n").decode("utf-8", "replace")
            log({"event": "command", "line": command})
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                lines = ["rawmx.test"] + args.ext
                for keyword in lines[:-1]:
                    say("250-" + keyword)
                say("250 " + lines[-1])
            elif verb == "RCPT" and args.rcpt_reply:
                writer.write(args.rcpt_reply.encode("utf-8", "surrogateescape") + b"\r\n")
            elif verb == "DATA" and args.data_reply:
                say(args.data_reply)
            elif verb == "DATA":
                say("354 go ahead")
                await writer.drain()
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = await reader.readline()
                    if not chunk:
                        return
                    data += chunk
                log({"event": "message", "data": data.decode("utf-8", "replace")})
                say("250 2.0.0 queued")
            elif verb == "QUIT":
                say("221 bye")
                await writer.drain()
                return
            else:
                say("250 ok")
            await writer.drain()
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(session, args.host, args.port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
