"""A misbehaving mail exchanger, for the outbound stall and TLS tests.

usage: fake_mx.py ADDRESS PORT LOG CERT KEY MODE

It offers STARTTLS (with CERT and KEY) in its EHLO reply, and then, by MODE:

  stall     after STARTTLS, answers up to DATA with 354 and then never reads
            again (its receive buffer is tiny, so the client's writes stall);
  bad-tls   answers STARTTLS with 220, then sends garbage and closes; a
            session in clear is served to the end and its message recorded.

Each event is one JSON line in LOG: {"event": "connect"}, {"event":
"stalled"}, {"event": "bad-tls"}, {"event": "message", "tls": false, "to":
[...], "size": N}. Prints "ready" once it listens.
"""
import json
import socket
import ssl
import sys
import threading
import time

address, port, log_path, cert, key, mode = sys.argv[1:7]
lock = threading.Lock()


def log(**event):
    with lock, open(log_path, "a") as f:
        f.write(json.dumps(event) + "\n")


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.tls = False

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")


def serve(sock):
    log(event="connect")
    conn = Conn(sock)
    recipients = []
    conn.send("220 fake.mx.test ESMTP")
    while True:
        line = conn.line()
        verb = line[:4].upper()
        if verb in ("EHLO", "HELO"):
            offers = [] if conn.tls else ["STARTTLS"]
            lines = ["fake.mx.test"] + offers + ["8BITMIME"]
            for i, text in enumerate(lines):
                sep = " " if i == len(lines) - 1 else "-"
                conn.send(f"250{sep}{text}")
        elif verb == "STAR":
            conn.send("220 go ahead")
            if mode == "bad-tls":
                log(event="bad-tls")
                sock.sendall(b"this is not a TLS server hello\r\n" * 4)
                time.sleep(0.2)
                sock.close()
                return
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            conn.sock = context.wrap_socket(sock, server_side=True)
            conn.buffer = b""
            conn.tls = True
        elif verb == "MAIL":
            recipients = []
            conn.send("250 ok")
        elif verb == "RCPT":
            recipients.append(line.split("<", 1)[1].split(">", 1)[0])
            conn.send("250 ok")
        elif verb == "DATA":
            conn.send("354 go on")
            if mode == "stall" and conn.tls:
                log(event="stalled")
                # Never read again; hold the connection open.
                time.sleep(3600)
                return
            size = 0
            while True:
                data = conn.line()
                if data == ".":
                    break
                size += len(data) + 2
            log(event="message", tls=conn.tls, to=recipients, size=size)
            conn.send("250 2.0.0 queued")
        elif verb == "QUIT":
            conn.send("221 bye")
            sock.close()
            return
        else:
            conn.send("250 ok")


def handle(sock):
    try:
        serve(sock)
    except (EOFError, OSError, ssl.SSLError):
        pass


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
# Accepted sockets inherit a tiny receive buffer: a client writing to one
# that is not read stalls after a few kilobytes.
listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
listener.bind((address, int(port)))
listener.listen(16)
print("ready", flush=True)
while True:
    client, _ = listener.accept()
    threading.Thread(target=handle, args=(client,), daemon=True).start()
