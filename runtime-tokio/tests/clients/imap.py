"""IMAP scenarios with python's imaplib, printing one line per step.

usage: imap.py HOST PORT SCENARIO CAFILE USER PASSWORD [SMTP_PORT]
SCENARIO: plain (LOGIN in clear, then the everyday commands), starttls
(STARTTLS first), ssl (IMAP4_SSL), logindisabled (a clear STARTTLS
instance: LOGIN refused before TLS), login (one LOGIN; prints ok or the
refusal), greeting (the first line the server sends).
Errors from the server are printed, not raised: the test reads the lines.
"""
import imaplib
import socket
import ssl
import sys

host, port, scenario, cafile, user, password = sys.argv[1:7]
port = int(port)


def context():
    return ssl.create_default_context(cafile=cafile)


def text(value):
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return value


def show(label, call):
    try:
        result = text(call())
    except (imaplib.IMAP4.error, imaplib.IMAP4.abort) as error:
        result = "error: " + str(error)
    print(f"{label}: {result}", flush=True)
    return result


MESSAGE = (
    b"From: carol@remote.test\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: appended by imaplib\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=xyz\r\n"
    b"\r\n"
    b"--xyz\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello from imaplib.\r\n"
    b"--xyz\r\n"
    b"Content-Type: application/octet-stream; name=a.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--xyz--\r\n"
)


def everyday(imap):
    """What a client does all day, on a mailbox holding the test's deliveries."""
    show("capability", lambda: sorted(imap.capabilities))
    show("select", lambda: imap.select("INBOX"))
    show("search all", lambda: imap.search(None, "ALL"))
    show("search subject", lambda: imap.search(None, "SUBJECT", '"message 1"'))
    show("fetch 1 subject", lambda: imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].strip())
    show("store", lambda: imap.store("1", "+FLAGS", "(\\Flagged $Important)"))
    show("fetch flags", lambda: imap.fetch("1", "(FLAGS)"))
    show("append", lambda: imap.append("INBOX", "(\\Seen)", None, MESSAGE))
    show("search unseen", lambda: imap.search(None, "UNSEEN"))
    typ, data = imap.search(None, "SUBJECT", '"appended by imaplib"')
    number = data[0].split()[-1].decode()
    show("bodystructure", lambda: imap.fetch(number, "(BODYSTRUCTURE)")[1][0])
    show("fetch part 2", lambda: imap.fetch(number, "(BODY[2])")[1])
    show("create", lambda: imap.create("Projects"))
    show("list", lambda: imap.list())
    show("uid move", lambda: imap.uid("MOVE", "1", "Projects"))
    show("status archive", lambda: imap.status("Projects", "(MESSAGES UIDNEXT)"))
    show("search after move", lambda: imap.search(None, "ALL"))
    show("close", imap.close)
    show("logout", imap.logout)


if scenario == "plain":
    imap = imaplib.IMAP4(host, port, timeout=30)
    print("welcome:", imap.welcome.decode(), flush=True)
    show("login", lambda: imap.login(user, password))
    everyday(imap)
elif scenario == "starttls":
    imap = imaplib.IMAP4(host, port, timeout=30)
    show("capability before tls", lambda: sorted(imap.capabilities))
    show("starttls", lambda: imap.starttls(context()))
    show("capability after tls", lambda: sorted(imap.capabilities))
    show("login", lambda: imap.login(user, password))
    show("select", lambda: imap.select("INBOX", readonly=True))
    show("logout", imap.logout)
elif scenario == "ssl":
    imap = imaplib.IMAP4_SSL(host, port, ssl_context=context(), timeout=30)
    show("capability", lambda: sorted(imap.capabilities))
    show("login", lambda: imap.login(user, password))
    show("select", lambda: imap.select("INBOX", readonly=True))
    show("logout", imap.logout)
elif scenario == "logindisabled":
    imap = imaplib.IMAP4(host, port, timeout=30)
    show("capability", lambda: sorted(imap.capabilities))
    # imaplib itself refuses LOGIN when LOGINDISABLED is advertised; send
    # the command by hand to see the server's own refusal.
    show("login sent", lambda: imap._simple_command("LOGIN", user, imap._quote(password)))
    show("authenticate plain", lambda: imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode()))
    show("logout", imap.logout)
elif scenario == "login":
    try:
        imap = imaplib.IMAP4(host, port, timeout=30)
    except (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError) as error:
        print("refused at greeting:", error)
        sys.exit(0)
    try:
        imap.login(user, password)
        print("ok")
        imap.logout()
    except (imaplib.IMAP4.error, imaplib.IMAP4.abort) as error:
        print("refused:", error)
elif scenario == "greeting":
    with socket.create_connection((host, port), timeout=30) as sock:
        print(sock.makefile("rb").readline().decode().rstrip("\r\n"))
else:
    sys.exit(f"unknown scenario {scenario}")
