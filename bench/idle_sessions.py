#!/usr/bin/env python3
"""Opens N SMTP sessions to HOST:PORT, each taken to the state after EHLO
(greeting read, EHLO answered 250), and holds them open until stdin closes.

Prints `ready N` on stdout once every session is idle after EHLO, or
`failed: ...` and exits 1. Used by bench/sessions.sh.

Usage: idle_sessions.py HOST PORT N [SOURCE_PREFIX]
  SOURCE_PREFIX (e.g. 127.0.1.) spreads the client ends over 250 loopback
  source addresses, so that N may exceed one address's ephemeral ports.
"""
import asyncio
import sys

CONNECT_CONCURRENCY = 200
REPLY_TIMEOUT = 60.0


async def reply(reader):
    """Reads one SMTP reply (all its lines); returns its code."""
    while True:
        line = await asyncio.wait_for(reader.readline(), REPLY_TIMEOUT)
        if not line:
            raise ConnectionError("the server closed the connection")
        if len(line) < 4 or line[3:4] != b"-":
            return line[:3]


async def session(host, port, number, source, gate, sessions):
    async with gate:
        local = (source + str(1 + number % 250), 0) if source else None
        reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        if await reply(reader) != b"220":
            raise ConnectionError(f"session {number}: no 220 greeting")
        writer.write(b"EHLO bench.test\r\n")
        await writer.drain()
        if await reply(reader) != b"250":
            raise ConnectionError(f"session {number}: EHLO not answered 250")
        sessions.append((reader, writer))


async def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    source = sys.argv[4] if len(sys.argv) > 4 else None
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sessions = []
    try:
        await asyncio.gather(
            *(session(host, port, n, source, gate, sessions) for n in range(count))
        )
    except Exception as error:  # noqa: BLE001 - reported, then exit 1
        print(f"failed: {error!r} after {len(sessions)} sessions", flush=True)
        sys.exit(1)
    print(f"ready {len(sessions)}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
