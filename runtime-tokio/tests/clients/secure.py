"""TLS and AUTH scenarios with python's smtplib and ssl, one per run.

usage: secure.py HOST PORT SCENARIO CAFILE [ARGS...]
Each scenario prints one line per step, "name: result", for the Rust test
to check. CAFILE is the server's self-signed certificate, which the
client trusts (and so verifies the server's name: 127.0.0.1).
"""
import base64
import hashlib
import smtplib
import socket
import ssl
import sys

host, port, scenario, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
args = sys.argv[5:]
context = ssl.create_default_context(cafile=cafile)
MESSAGE = b"Subject: secure\r\n\r\nSent over TLS after AUTH.\r\n"


def say(step, result):
    print(f"{step}: {result}", flush=True)


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


if scenario == "submission":
    user, password = args
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        say("auth offered in clear", smtp.has_extn("auth"))
        say("starttls offered", smtp.has_extn("starttls"))
        say("auth before tls", smtp.docmd("AUTH", "PLAIN " + plain(user, password)))
        say("mail before auth", smtp.docmd("MAIL", f"FROM:<{user}>"))
        smtp.starttls(context=context)
        smtp.ehlo("client.test")
        say("auth offered after tls", smtp.esmtp_features.get("auth", "").strip())
        try:
            smtp.login(user, password + "-wrong")
            say("wrong password", "accepted")
        except smtplib.SMTPAuthenticationError as error:
            say("wrong password", (error.smtp_code, error.smtp_error.decode()))
        say("login", smtp.login(user, password))
        smtp.mail(user)
        say("relay for the user", smtp.rcpt("friend@far.test"))
        smtp.rset()
        say("sendmail", smtp.sendmail(user, ["alice@example.test"], MESSAGE))
elif scenario == "smtps":
    user, password = args
    with smtplib.SMTP_SSL(host, port, context=context, timeout=30) as smtp:
        smtp.ehlo("client.test")
        say("starttls offered", smtp.has_extn("starttls"))
        say("login", smtp.login(user, password))
        say("sendmail", smtp.sendmail(user, ["alice@example.test"], MESSAGE))
elif scenario == "inject":
    # CVE-2011-0411: a command pipelined behind STARTTLS, in clear, must
    # not run after the handshake.
    raw = socket.create_connection((host, port), timeout=30)
    reader = raw.makefile("rb")

    def reply(stream):
        lines = []
        while True:
            line = stream.readline().decode().rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return " / ".join(lines)

    reply(reader)
    raw.sendall(b"EHLO client.test\r\n")
    reply(reader)
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
    say("starttls", reply(reader))
    tls = context.wrap_socket(raw, server_hostname=host)
    tls_reader = tls.makefile("rb")
    tls.sendall(b"EHLO client.test\r\n")
    reply(tls_reader)
    tls.sendall(b"RCPT TO:<alice@example.test>\r\n")
    say("rcpt after tls", reply(tls_reader))
    tls.sendall(b"QUIT\r\n")
    say("quit", reply(tls_reader))
elif scenario == "silent":
    # Opens TLS, then says nothing: the server must time out and close.
    with socket.create_connection((host, port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            received = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                received += chunk
            say("received", received.decode().replace("\r\n", " / "))
elif scenario == "fingerprint":
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.starttls(context=context)
        certificate = smtp.sock.getpeercert(binary_form=True)
        say("fingerprint", hashlib.sha256(certificate).hexdigest())
elif scenario == "hold":
    # A session opened before a certificate reload, used after it.
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo("client.test")
        say("ready", True)
        sys.stdin.readline()
        say("noop", smtp.noop())
elif scenario == "logins":
    # Tries each password in turn on one connection, with AUTH PLAIN.
    # The server may close the session after too many failures: the reply
    # to QUIT then is its 421.
    user = args[0]
    smtp = smtplib.SMTP(host, port, timeout=30)
    smtp.starttls(context=context)
    smtp.ehlo("client.test")
    for password in args[1:]:
        say("auth", smtp.docmd("AUTH", "PLAIN " + plain(user, password)))
    try:
        say("quit", smtp.docmd("QUIT"))
    except smtplib.SMTPServerDisconnected:
        say("quit", "disconnected")
    smtp.close()
else:
    sys.exit(f"unknown scenario {scenario}")
