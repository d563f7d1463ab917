"""Connects to an implicit-TLS instance with python's ssl and prints the
first reply line it hears over TLS.

usage: tls_refusal.py HOST PORT CAFILE
Prints "over tls: REPLY". A server that answers in clear before the
handshake makes the handshake fail, and this script with it.
"""
import socket
import ssl
import sys

host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=cafile)
with socket.create_connection((host, port), timeout=15) as raw:
    with context.wrap_socket(raw, server_hostname=host) as tls:
        data = b""
        while not data.endswith(b"\n"):
            chunk = tls.recv(1024)
            if not chunk:
                break
            data += chunk
        print("over tls:", data.decode().strip(), flush=True)
