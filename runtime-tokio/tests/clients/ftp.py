"""FTP scenarios with python's ftplib, printing one line per step.

usage: ftp.py HOST PORT SCENARIO CAFILE USER PASSWORD [ARG]
SCENARIO: plain (login in clear, upload, list, download), tls (FTP_TLS
with prot_p), active (PORT), attacks (.. escapes, absolute paths, a
planted symlink, the bounce attack), thief (a data connection from
another address), quota (ARG: bytes to upload), cleartext_refused,
pasv (the 227 reply), refused (ARG: source address).
Errors from the server are printed, not raised: the test reads the lines.
"""
import ftplib
import io
import re
import socket
import ssl
import sys

host, port, scenario, cafile, user, password = sys.argv[1:7]
arg = sys.argv[7] if len(sys.argv) > 7 else None
port = int(port)


def show(label, call):
    try:
        result = call()
    except (ftplib.Error, EOFError, OSError) as error:
        result = "error: " + str(error)
    print(f"{label}: {result}", flush=True)
    return result


def download(ftp, name):
    data = io.BytesIO()
    reply = ftp.retrbinary("RETR " + name, data.write)
    return reply + " " + repr(data.getvalue())


def upload(ftp, name, data):
    return ftp.storbinary("STOR " + name, io.BytesIO(data))


def listing(ftp, path=""):
    lines = []
    ftp.retrlines("LIST " + path if path else "LIST", lines.append)
    return [line.split()[-1] for line in lines]


def session(ftp):
    show("pwd", ftp.pwd)
    show("mkd", lambda: ftp.mkd("docs"))
    show("stor", lambda: upload(ftp, "docs/report.txt", b"quarterly numbers\r\n"))
    show("cwd", lambda: ftp.cwd("docs"))
    show("nlst", ftp.nlst)
    show("size", lambda: ftp.size("report.txt"))
    show("retr", lambda: download(ftp, "report.txt"))
    show("mlsd", lambda: sorted(name for name, facts in ftp.mlsd("/docs") if facts["type"] == "file"))
    show("rename", lambda: ftp.rename("report.txt", "final.txt"))
    show("list", lambda: listing(ftp))
    show("cdup", lambda: ftp.cwd(".."))
    show("dele", lambda: ftp.delete("docs/final.txt"))
    show("rmd", lambda: ftp.rmd("docs"))
    show("quit", ftp.quit)


if scenario == "plain":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    session(ftp)
elif scenario == "tls":
    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=cafile))
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("auth", ftp.auth)
    show("login", lambda: ftp.login(user, password))
    show("retr-before-prot", lambda: download(ftp, "missing.txt"))
    show("prot_p", ftp.prot_p)
    show("pasv", lambda: ftp.sendcmd("PASV"))
    session(ftp)
elif scenario == "active":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    ftp.set_pasv(False)
    show("stor", lambda: upload(ftp, "active.txt", b"sent the old way\r\n"))
    show("retr", lambda: download(ftp, "active.txt"))
    show("list", lambda: listing(ftp))
    show("quit", ftp.quit)
elif scenario == "attacks":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    show("cwd-up", lambda: ftp.cwd(".."))
    show("retr-dotdot", lambda: download(ftp, "../../../../etc/passwd"))
    show("retr-absolute", lambda: download(ftp, "/etc/passwd"))
    show("cwd-link", lambda: ftp.cwd("link"))
    show("retr-through-link", lambda: download(ftp, "link/hostname"))
    show("retr-file-link", lambda: download(ftp, "secret"))
    show("stor-file-link", lambda: upload(ftp, "secret", b"overwritten"))
    show("size-file-link", lambda: ftp.size("secret"))
    show("list", lambda: listing(ftp))
    show("bounce", lambda: ftp.sendcmd("PORT 127,0,0,2,31,144"))
    show("bounce-low-port", lambda: ftp.sendcmd("PORT 127,0,0,1,0,25"))
    show("bounce-eprt", lambda: ftp.sendcmd("EPRT |1|192.0.2.1|8080|"))
    show("pwd", ftp.pwd)
    show("quit", ftp.quit)
elif scenario == "thief":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    show("stor", lambda: upload(ftp, "private.txt", b"for alice only\r\n"))
    reply = ftp.sendcmd("PASV")
    numbers = [int(n) for n in re.search(r"\((.*)\)", reply).group(1).split(",")]
    data_port = numbers[4] * 256 + numbers[5]
    ftp.putcmd("RETR private.txt")
    thief = socket.create_connection((host, data_port), timeout=10, source_address=("127.0.0.2", 0))
    try:
        stolen = thief.recv(100)
    except OSError as error:
        stolen = "error " + type(error).__name__
    print(f"thief: {stolen!r}", flush=True)
    owner = socket.create_connection((host, data_port), timeout=10)
    print(f"150: {ftp.getresp()}", flush=True)
    data = b""
    while chunk := owner.recv(4096):
        data += chunk
    owner.close()
    print(f"owner: {data!r}", flush=True)
    show("226", ftp.getresp)
    show("quit", ftp.quit)
elif scenario == "quota":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    show("stor-big", lambda: upload(ftp, "big.bin", b"x" * int(arg)))
    show("list", lambda: listing(ftp))
    show("stor-small", lambda: upload(ftp, "small.bin", b"y" * 1000))
    show("list", lambda: listing(ftp))
    show("quit", ftp.quit)
elif scenario == "cleartext_refused":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    show("quit", ftp.quit)
elif scenario == "pasv":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10))
    show("login", lambda: ftp.login(user, password))
    show("pasv", lambda: ftp.sendcmd("PASV"))
    show("list", lambda: listing(ftp))
    show("quit", ftp.quit)
elif scenario == "refused":
    ftp = ftplib.FTP()
    show("connect", lambda: ftp.connect(host, port, timeout=10, source_address=(arg, 0)))
else:
    sys.exit(f"unknown scenario {scenario}")
