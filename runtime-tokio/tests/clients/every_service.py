"""Uses every service of the book's every-service example with python's
own clients, and prints one line per check: "ok NAME" or "FAILED NAME:
why". Exits 0 either way; the Rust test reads the lines.

usage: every_service.py HOST PORT CAFILE LOGIN PASSWORD TUNNEL_BYTES
(HOST and PORT, the SMTP instance the test waited for, are not used:
the addresses are the example's.)
"""
import base64
import ftplib
import imaplib
import io
import poplib
import smtplib
import socket
import ssl
import sys
import time

cafile, login, password, tunnel_bytes = sys.argv[3:7]
context = ssl.create_default_context(cafile=cafile)
MACHINE, LAN, INTERNET = "127.0.0.1", "127.0.0.2", "127.0.0.3"
TIMEOUT = 20


def check(name, action):
    try:
        action()
        print(f"ok {name}", flush=True)
    except Exception as error:  # noqa: BLE001 - reported, the test decides
        print(f"FAILED {name}: {error!r}", flush=True)


def message(subject):
    return f"From: {login}\r\nTo: {login}\r\nSubject: {subject}\r\n\r\nhello\r\n"


def mx():
    with smtplib.SMTP(INTERNET, 25, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=context)
        smtp.sendmail("friend@remote.test", [login], message("from the internet"))


def mx_refuses_relay():
    with smtplib.SMTP(INTERNET, 25, timeout=TIMEOUT) as smtp:
        try:
            smtp.sendmail("friend@remote.test", ["someone@far.test"], message("relay?"))
        except smtplib.SMTPRecipientsRefused:
            return
    raise AssertionError("the internet instance relayed")


def lan_smtp():
    with smtplib.SMTP(LAN, 25, timeout=TIMEOUT) as smtp:
        smtp.sendmail("desk@example.test", [login], message("from the lan"))


def submission():
    with smtplib.SMTP(INTERNET, 587, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=context)
        smtp.login(login, password)
        smtp.sendmail(login, [login], message("submitted"))


def lan_pop3():
    deadline = time.time() + TIMEOUT
    while True:
        pop = poplib.POP3(LAN, 110, timeout=TIMEOUT)
        pop.user(login)
        pop.pass_(password)
        count, _ = pop.stat()
        pop.quit()
        if count >= 3:
            return
        if time.time() > deadline:
            raise AssertionError(f"{count} messages, not 3")
        time.sleep(0.2)


def pop3s():
    pop = poplib.POP3_SSL(INTERNET, 995, context=context, timeout=TIMEOUT)
    pop.user(login)
    pop.pass_(password)
    count, _ = pop.stat()
    pop.quit()
    assert count >= 3, count


def lan_imap():
    imap = imaplib.IMAP4(LAN, 143, timeout=TIMEOUT)
    imap.login(login, password)
    typ, data = imap.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 3, data
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"Subject:" in data[0][1], data
    imap.logout()


def imaps():
    imap = imaplib.IMAP4_SSL(INTERNET, 993, ssl_context=context, timeout=TIMEOUT)
    imap.login(login, password)
    typ, data = imap.status("INBOX", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES" in data[0], data
    typ, data = imap.getquotaroot("INBOX")
    assert typ == "OK" and b"1048576" in b" ".join(d for d in data[1] if d), data
    imap.logout()


def finger(host, query):
    with socket.create_connection((host, 79), timeout=TIMEOUT) as conn:
        conn.sendall(query.encode() + b"\r\n")
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    return answer.decode()


def lan_finger():
    answer = finger(LAN, "")
    assert login in answer and "postmaster@example.test" in answer, answer


def internet_finger():
    answer = finger(INTERNET, login.split("@")[0])
    assert f"Login: {login}" in answer, answer
    answer = finger(INTERNET, "")
    assert "does not list its users" in answer, answer
    answer = finger(INTERNET, "postmaster")
    assert "no such user" in answer, answer


def lan_ftp():
    with ftplib.FTP(LAN, timeout=TIMEOUT) as ftp:
        ftp.login(login, password)
        ftp.storbinary("STOR notes.txt", io.BytesIO(b"from the lan\n"))
        assert "notes.txt" in ftp.nlst(), ftp.nlst()


def internet_ftp():
    with ftplib.FTP_TLS(INTERNET, context=context, timeout=TIMEOUT) as ftp:
        ftp.login(login, password)
        ftp.prot_p()
        data = io.BytesIO()
        ftp.retrbinary("RETR notes.txt", data.write)
        assert data.getvalue() == b"from the lan\n", data.getvalue()


def console():
    with socket.create_connection((MACHINE, 5001), timeout=TIMEOUT) as conn:
        lines = conn.makefile("rb")
        greeting = lines.readline()
        assert greeting.startswith(b"+OK"), greeting
        token = base64.b64encode(f"\0{login}\0{password}".encode()).decode()
        conn.sendall(f"AUTH PLAIN {token}\r\n".encode())
        # The recent lines, then "+OK following": the mail above is there.
        seen = b""
        while True:
            line = lines.readline()
            assert line, seen[-500:]
            seen += line
            if line.startswith(b"+OK following"):
                break
        assert b"queued" in seen, seen[-500:]


def tunnel():
    sent = tunnel_bytes.encode()
    with socket.create_connection((LAN, 5119), timeout=TIMEOUT) as conn:
        conn.sendall(sent)
        conn.shutdown(socket.SHUT_WR)
        back = b""
        while chunk := conn.recv(4096):
            back += chunk
    assert back == sent, back


for name, action in [
    ("mx", mx),
    ("mx refuses relay", mx_refuses_relay),
    ("lan-smtp", lan_smtp),
    ("submission", submission),
    ("lan-pop3", lan_pop3),
    ("pop3s", pop3s),
    ("lan-imap", lan_imap),
    ("imaps", imaps),
    ("lan-finger", lan_finger),
    ("finger", internet_finger),
    ("lan-ftp", lan_ftp),
    ("ftp", internet_ftp),
    ("console", console),
    ("news", tunnel),
]:
    check(name, action)
